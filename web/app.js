// SPDX-License-Identifier: MIT
// The viewer's controller: the view (pid, filter, sort, grouping, open task,
// refresh interval) lives in the URL; samples come from asyncdumpd; the
// page shows the process, its runtimes, and its tasks grouped by trace.

import { ApiError, fetchCoreTrace, fetchCores, fetchPids, fetchTrace } from './api.js';
import { append, clear, h } from './dom.js';
import { formatCapturedAt, formatCount, formatPause } from './format.js';
import { TaskList } from './list.js';
import { filterGroups, groupTasks, normalisePids, prepareTrace, sortGroups } from './model.js';
import { readView, taskHref, writeView } from './url.js';

const $ = (id) => document.getElementById(id);

const el = {
	main: $('main'),
	pick: $('pick'),
	process: $('process'),
	pidInput: $('pid-input'),
	refresh: $('refresh'),
	interval: $('interval'),
	notice: $('notice'),
	landing: $('landing'),
	processes: $('processes'),
	overview: $('overview'),
	tasksSection: $('tasks-section'),
	filter: $('filter'),
	sort: $('sort'),
	group: $('group'),
	locals: $('locals'),
	counts: $('counts'),
	list: $('tasks'),
	status: $('status'),
};

let view = readView();
let pids = [];
let cores = [];            // core files (GET /cores): {name, pid, comm, traceable, reason}
let trace = null;          // the prepared current sample
let groups = [];           // all groups of the current sample
let request = 0;           // sequence number: answers to older requests are dropped
let inflight = null;       // AbortController of the running sample request
let timer = null;
let pendingReveal = view.task;

const list = new TaskList(el.list, {
	taskHref: (id) => taskHref(view, id),
	get sourceRoot() {
		return trace && typeof trace.doc.source_root === 'string' ? trace.doc.source_root : null;
	},
	runtime: (index) => {
		const rt = trace && Array.isArray(trace.doc.runtimes) &&
			trace.doc.runtimes.find((r) => r.id === index);
		return rt ? `${index} (${[rt.kind, rt.flavor].filter(Boolean).join(' ')})` : (index ?? null);
	},
	onToggle: (group, open) => {
		if (open)
			view.task = (list.shown.get(group.key) || group.rep).key;
		else if (view.task && group.tasks.some((t) => t.key === view.task))
			view.task = null;
		writeView(view);
	},
});

function setStatus(text) {
	el.status.textContent = text;
}

function showNotice(title, err) {
	clear(el.notice);
	const detail = [];
	if (err instanceof ApiError) {
		if (err.code)
			detail.push(err.code);
		if (err.status)
			detail.push(`HTTP ${err.status}`);
	}
	append(el.notice, [
		h('strong', null, title),
		h('p', { class: 'notice-message' }, err.message || String(err)),
		detail.length ? h('p', { class: 'notice-detail' }, detail.join(' · ')) : null]);
	el.notice.hidden = false;
}

function hideNotice() {
	el.notice.hidden = true;
	clear(el.notice);
}

// ---- processes

function processName(p) {
	const path = p.exe || p.comm || '?';
	return path.split('/').pop();
}

function renderProcessPicker() {
	clear(el.process);
	el.process.append(h('option', { value: '' }, pids.length ? 'Choose a process…' : 'No processes listed'));
	const known = new Set();
	for (const p of pids) {
		known.add(p.pid);
		const why = p.traceable ? '' : ` — ${p.reason || 'not traceable'}`;
		el.process.append(h('option', { value: String(p.pid) }, `${p.pid} ${processName(p)}${why}`));
	}
	if (view.pid !== null && !known.has(view.pid))
		el.process.append(h('option', { value: String(view.pid) }, `${view.pid}`));
	// Core files: the same picker, values "core:NAME".
	const coreOptions = cores.map((c) => {
		const why = c.traceable ? '' : ` — ${c.reason || 'not traceable'}`;
		return h('option', { value: `core:${c.name}` },
			`${c.pid ?? '?'} ${c.comm || c.name} (core, ${c.time || '?'})${why}`);
	});
	if (view.core && !cores.some((c) => c.name === view.core))
		coreOptions.push(h('option', { value: `core:${view.core}` }, view.core));
	if (coreOptions.length)
		el.process.append(h('optgroup', { label: 'Core files' }, coreOptions));
	el.process.value = view.pid !== null ? String(view.pid) : view.core ? `core:${view.core}` : '';
}

// GET /cores, for the picker; a daemon without cores (or an older one)
// just shows none.
function normaliseCores(json) {
	const list = json && Array.isArray(json.cores) ? json.cores : [];
	return list.filter((c) => c && typeof c.name === 'string').map((c) => ({
		name: c.name,
		pid: Number.isInteger(c.pid) ? c.pid : null,
		comm: typeof c.comm === 'string' ? c.comm : null,
		time: typeof c.time === 'string' ? c.time : null,
		traceable: c.is_rust === true && c.has_type_debuginfo === true && !c.reason,
		reason: typeof c.reason === 'string' ? c.reason : null,
	}));
}

async function loadCores() {
	try {
		cores = normaliseCores(await fetchCores());
	} catch {
		cores = [];
	}
	renderProcessPicker();
}

function processRow(p) {
	return h('tr', { class: p.traceable ? null : 'untraceable' },
		h('td', { class: 'num' }, h('a', { href: `?pid=${p.pid}`, dataset: { pid: String(p.pid) } }, String(p.pid))),
		h('td', { class: 'mono' }, processName(p)),
		h('td', { class: 'mono path' }, p.exe || ''),
		h('td', null, p.traceable ? 'yes' : (p.reason || 'no')));
}

function renderLanding() {
	clear(el.processes);
	const traceable = pids.filter((p) => p.traceable);
	const others = pids.filter((p) => !p.traceable);
	const table = (rows) => h('table', { class: 'procs' },
		h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'pid'), h('th', { scope: 'col' }, 'name'),
			h('th', { scope: 'col' }, 'executable'), h('th', { scope: 'col' }, 'traceable'))),
		h('tbody', null, rows.map(processRow)));
	if (traceable.length)
		el.processes.append(table(traceable));
	else
		el.processes.append(h('p', { class: 'muted' },
			'No traceable process found: asyncdump reads Rust programs that use tokio and have type debuginfo.'));
	if (others.length)
		el.processes.append(h('details', { class: 'others' },
			h('summary', null, `${formatCount(others.length)} other process${others.length > 1 ? 'es' : ''}`),
			table(others)));
}

async function loadPids() {
	try {
		pids = normalisePids(await fetchPids());
	} catch (err) {
		pids = [];
		renderProcessPicker();
		clear(el.processes);
		el.processes.append(h('p', { class: 'error-text' }, `Could not list processes: ${err.message}`));
		return;
	}
	renderProcessPicker();
	renderLanding();
}

// ---- one sample

function fact(name, value, title) {
	return h('div', { class: 'fact' }, h('dt', null, name), h('dd', { title: title || null }, value));
}

function renderOverview(doc) {
	clear(el.overview);
	const exe = typeof doc.exe === 'string' ? doc.exe : '';
	const runtimes = Array.isArray(doc.runtimes) ? doc.runtimes : [];
	const warnings = Array.isArray(doc.warnings) ? doc.warnings : [];
	const cycles = Array.isArray(doc.cycles) ? doc.cycles : [];
	append(el.overview, [
		h('div', { class: 'proc-head' },
			h('h2', null, exe.split('/').pop() || `process ${doc.pid}`, ' ', h('span', { class: 'pid' }, `pid ${doc.pid}`)),
			h('span', { class: 'mono path', title: exe }, exe)),
		h('dl', { class: 'facts' },
			fact('captured', formatCapturedAt(doc.captured_at), doc.captured_at),
			doc.source === 'core'
				? fact('source', 'core file', 'read from a core file: nothing was stopped')
				: fact('paused', formatPause(doc.pause_us), 'how long the process was stopped for this sample'),
			fact('tasks', formatCount(doc.tasks.length)),
			doc.build_id ? fact('build id', String(doc.build_id).slice(0, 12), String(doc.build_id)) : null),
		runtimes.length ? h('ul', { class: 'runtimes', 'aria-label': 'runtimes' }, runtimes.map((rt) =>
			h('li', { class: 'runtime' },
				h('span', { class: 'rt-kind' }, `${rt.kind || 'runtime'} ${rt.id}`),
				` ${rt.flavor || ''}`, h('span', { class: 'addr' }, rt.address || ''),
				h('span', { class: 'rt-tasks' }, `${formatCount(rt.tasks ?? 0)} tasks`))))
			: h('p', { class: 'muted' }, 'No async runtime found in this sample.'),
		cycles.map((cycle) => h('p', { class: 'cycle', role: 'note' },
			h('strong', null, 'Deadlock: '), 'tasks await each other in a cycle: ',
			(Array.isArray(cycle) ? cycle : []).map((id, i) => [i ? ' → ' : '',
				h('a', { class: 'task-link', href: taskHref(view, id), dataset: { task: String(id) } }, `task ${id}`)]))),
		warnings.length ? h('details', { class: 'warnings' },
			h('summary', null, `${formatCount(warnings.length)} warning${warnings.length > 1 ? 's' : ''}`),
			h('ul', null, warnings.map((w) => h('li', null, String(w))))) : null]);
}

function applyView({ keepOpen = true } = {}) {
	if (!trace)
		return;
	const shown = sortGroups(filterGroups(groups, view.filter), view.sort);
	const taskCount = shown.reduce((n, g) => n + g.tasks.length, 0);
	el.counts.textContent = view.filter
		? `${formatCount(taskCount)} of ${formatCount(trace.tasks.length)} tasks match · ${formatCount(shown.length)} rows`
		: `${formatCount(trace.tasks.length)} tasks · ${formatCount(shown.length)} ${view.group ? 'distinct traces' : 'rows'}`;
	list.show(shown, keepOpen ? list.expanded : new Set());
	if (!shown.length)
		el.list.append(h('li', { class: 'empty' }, view.filter
			? `No task matches “${view.filter}”.` : 'This process has no tasks right now.'));
	return shown;
}

// Opens the row of task `key`, clearing a filter that hides it.
function reveal(key) {
	if (!trace)
		return false;
	const task = trace.byKey.get(String(key));
	if (!task) {
		setStatus(`Task ${key} is not in this sample (it may have completed).`);
		return false;
	}
	let shown = list.groups;
	let index = shown.findIndex((g) => g.tasks.includes(task));
	if (index < 0 && view.filter) {
		view.filter = '';
		el.filter.value = '';
		shown = applyView();
		index = shown.findIndex((g) => g.tasks.includes(task));
		setStatus(`Cleared the filter to show ${task.label}.`);
	}
	if (index < 0)
		return false;
	list.reveal(index, task);
	view.task = task.key;
	writeView(view);
	return true;
}

async function loadTrace({ fresh }) {
	if (view.pid === null && !view.core)
		return;
	const pid = view.pid ?? view.core;
	const seq = ++request;
	if (inflight)
		inflight.abort();
	inflight = new AbortController();
	el.main.setAttribute('aria-busy', 'true');
	setStatus(view.core ? `Reading core file ${pid}…` : `Sampling process ${pid}…`);
	let doc;
	let next;
	try {
		doc = view.core ? await fetchCoreTrace(view.core, { locals: view.locals, signal: inflight.signal })
			: await fetchTrace(pid, { locals: view.locals, signal: inflight.signal });
		next = prepareTrace(doc);
	} catch (err) {
		if (err.name === 'AbortError' || seq !== request)
			return;
		el.main.removeAttribute('aria-busy');
		if (fresh || !trace) {
			trace = null;
			el.overview.hidden = true;
			el.tasksSection.hidden = true;
			el.landing.hidden = false;
			showNotice(`Could not show process ${pid}`, err);
			setStatus('');
		} else {
			showNotice('The last refresh failed; the tasks below are from the previous sample', err);
		}
		scheduleRefresh();
		return;
	}
	if (seq !== request)
		return;
	trace = next;
	el.main.removeAttribute('aria-busy');
	hideNotice();
	el.landing.hidden = true;
	document.title = `asyncdump — ${(doc.exe || '').split('/').pop() || 'process'} (${pid})`;
	groups = groupTasks(trace, view.group);
	renderOverview(doc);
	el.overview.hidden = false;
	el.tasksSection.hidden = false;
	const scroll = window.scrollY;
	applyView({ keepOpen: !fresh });
	if (pendingReveal) {
		reveal(pendingReveal);
		pendingReveal = null;
	} else if (!fresh) {
		window.scrollTo({ top: scroll });
	}
	setStatus(`Sampled ${formatCount(doc.tasks.length)} tasks at ${formatCapturedAt(doc.captured_at)}.`);
	scheduleRefresh();
}

function scheduleRefresh() {
	clearTimeout(timer);
	timer = null;
	if (view.refresh && view.pid !== null) // a core does not change
		timer = setTimeout(() => loadTrace({ fresh: false }), view.refresh * 1000);
}

// ---- controls

function selectPid(pid, { push = true } = {}) {
	view.pid = pid;
	view.core = null;
	view.task = null;
	pendingReveal = null;
	trace = null;
	writeView(view, { push });
	renderProcessPicker();
	el.pidInput.value = '';
	showSelection();
}

function selectCore(name) {
	view.pid = null;
	view.core = name;
	view.task = null;
	pendingReveal = null;
	trace = null;
	writeView(view, { push: true });
	renderProcessPicker();
	showSelection();
}

function showSelection() {
	if (view.pid === null && !view.core) {
		clearTimeout(timer);
		el.overview.hidden = true;
		el.tasksSection.hidden = true;
		el.landing.hidden = false;
		hideNotice();
		document.title = 'asyncdump';
		setStatus('');
		return;
	}
	el.landing.hidden = true;
	loadTrace({ fresh: true });
}

function syncControls() {
	el.filter.value = view.filter;
	el.sort.value = view.sort;
	el.group.checked = view.group;
	el.locals.checked = view.locals;
	el.interval.value = String(view.refresh);
}

function debounce(fn, ms) {
	let t = null;
	return (...args) => {
		clearTimeout(t);
		t = setTimeout(() => fn(...args), ms);
	};
}

el.process.addEventListener('change', () => {
	if (el.process.value.startsWith('core:'))
		selectCore(el.process.value.slice(5));
	else if (el.process.value)
		selectPid(Number(el.process.value));
});

el.pick.addEventListener('submit', (event) => {
	event.preventDefault();
	const text = el.pidInput.value.trim();
	if (!/^[0-9]{1,10}$/.test(text)) {
		showNotice('Not a process id', new Error(`“${text}” is not a pid: type the number of a process, e.g. 4242.`));
		return;
	}
	selectPid(Number(text));
});

el.refresh.addEventListener('click', () => {
	if (view.pid !== null || view.core)
		loadTrace({ fresh: false });
	else {
		loadPids();
		loadCores();
	}
});

el.interval.addEventListener('change', () => {
	view.refresh = Number(el.interval.value);
	writeView(view);
	scheduleRefresh();
});

el.filter.addEventListener('input', debounce(() => {
	view.filter = el.filter.value.trim();
	writeView(view);
	applyView();
}, 150));

el.sort.addEventListener('change', () => {
	view.sort = el.sort.value;
	writeView(view);
	applyView();
});

el.group.addEventListener('change', () => {
	view.group = el.group.checked;
	writeView(view);
	if (trace) {
		groups = groupTasks(trace, view.group);
		applyView({ keepOpen: false });
	}
});

el.locals.addEventListener('change', () => {
	view.locals = el.locals.checked;
	writeView(view);
	loadTrace({ fresh: false });
});

// Task links anywhere on the page jump within it; a modified click (new
// tab) keeps the browser's behaviour since the href is a real view URL.
document.addEventListener('click', (event) => {
	if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey)
		return;
	const link = event.target.closest('a[data-task], a[data-pid]');
	if (!link)
		return;
	event.preventDefault();
	if (link.dataset.pid)
		selectPid(Number(link.dataset.pid));
	else
		reveal(link.dataset.task);
});

window.addEventListener('popstate', () => {
	const next = readView();
	const pidChanged = next.pid !== view.pid || next.core !== view.core;
	const localsChanged = next.locals !== view.locals;
	view = next;
	syncControls();
	renderProcessPicker();
	if (pidChanged) {
		pendingReveal = view.task;
		showSelection();
	} else if (localsChanged) {
		pendingReveal = view.task;
		loadTrace({ fresh: false });
	} else if (trace) {
		groups = groupTasks(trace, view.group);
		applyView();
		if (view.task)
			reveal(view.task);
	}
});

syncControls();
renderProcessPicker();
loadPids();
loadCores();
showSelection();
