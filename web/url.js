// SPDX-License-Identifier: MIT
// The view lives in the query string, so a link shows someone else the same
// thing: ?pid=4242&q=sleep&sort=unchanged&group=0&locals=1&task=7&refresh=5
// (or ?core=NAME for a core file of the daemon's cores directory, GET /cores)

export const SORT_NAMES = ['order', 'count', 'state', 'unchanged'];
export const INTERVALS = [0, 2, 5, 10, 30, 60];

export function readView(search = window.location.search) {
	const params = new URLSearchParams(search);
	const pid = params.get('pid');
	const core = params.get('core');
	const sort = params.get('sort');
	const refresh = Number(params.get('refresh'));
	const validPid = pid && /^[0-9]{1,10}$/.test(pid) ? Number(pid) : null;
	return {
		pid: validPid,
		// A core names one file of the directory: no path, no dot file.
		core: validPid === null && core && !core.includes('/') && !core.startsWith('.') ? core : null,
		filter: params.get('q') || '',
		sort: SORT_NAMES.includes(sort) ? sort : 'order',
		group: params.get('group') !== '0',
		locals: params.get('locals') === '1',
		task: params.get('task') || null,
		refresh: INTERVALS.includes(refresh) ? refresh : 0,
	};
}

export function viewQuery(view) {
	const params = new URLSearchParams();
	if (view.pid !== null)
		params.set('pid', String(view.pid));
	else if (view.core)
		params.set('core', view.core);
	if (view.filter)
		params.set('q', view.filter);
	if (view.sort !== 'order')
		params.set('sort', view.sort);
	if (!view.group)
		params.set('group', '0');
	if (view.locals)
		params.set('locals', '1');
	if (view.task)
		params.set('task', view.task);
	if (view.refresh)
		params.set('refresh', String(view.refresh));
	const query = params.toString();
	return query ? `?${query}` : window.location.pathname;
}

// A link that opens `task` in the current view (for "awaits task N").
export function taskHref(view, task) {
	return viewQuery({ ...view, task: String(task) });
}

export function writeView(view, { push = false } = {}) {
	const url = viewQuery(view);
	if (url === window.location.search || (url === window.location.pathname && !window.location.search))
		return;
	if (push)
		window.history.pushState(null, '', url);
	else
		window.history.replaceState(null, '', url);
}
