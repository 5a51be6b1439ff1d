// SPDX-License-Identifier: MIT
// The list of task groups. Ten thousand tasks must not freeze the page, so
// rows are built a chunk at a time, when the chunk's placeholder scrolls near
// the viewport or a jump lands in it (and the browser skips laying out rows
// off screen: content-visibility in style.css); a row's tree is built only
// when the row is opened.

import { h, clear } from './dom.js';
import { describeBlockedOn, formatCount, formatDuration, formatLocation, frameDisplayName } from './format.js';
import { renderTaskTree } from './tree.js';

const CHUNK = 150;
const MEMBERS_SHOWN = 100;

function blockedSpan(blockedOn) {
	const b = describeBlockedOn(blockedOn);
	if (!b)
		return null;
	return h('span', { class: `blocked rk-${b.kind}`, title: b.title },
		h('span', { class: 'rk' }, b.word), b.detail ? ` ${b.detail}` : null);
}

function groupLabel(group) {
	if (group.tasks.length === 1)
		return group.rep.label;
	const ids = group.tasks.slice(0, 3).map((t) => t.raw.id).filter((id) => id !== null && id !== undefined);
	if (ids.length === 0)
		return `${group.rep.label} …`;
	return `tasks ${ids.join(', ')}, …`;
}

function renderHead(group, bodyId, ctx) {
	const task = group.rep;
	const raw = task.raw;
	const where = task.where;
	const loc = where ? formatLocation(where.location, ctx.sourceRoot) : null;
	const state = typeof raw.state === 'string' ? raw.state : 'unknown';
	return h('button', {
		type: 'button', class: 'row-toggle', 'aria-expanded': 'false', 'aria-controls': bodyId,
	},
	h('span', { class: 'chev', 'aria-hidden': 'true' }),
	group.tasks.length > 1 ? h('span', {
		class: 'count', title: `${formatCount(group.tasks.length)} tasks with this same trace`,
	}, `×${formatCount(group.tasks.length)}`) : null,
	h('span', { class: 'tlabel' }, groupLabel(group)),
	h('span', { class: `badge st-${state}` }, state),
	group.stuck ? h('span', { class: 'badge stuck' }, task.inCycle ? 'deadlock' : 'stuck') : null,
	where ? h('span', { class: 'where' },
		h('span', { class: 'fn' }, frameDisplayName(where)),
		loc ? h('span', { class: 'loc', title: loc.title }, loc.text) : null) : null,
	!raw.root && raw.note ? h('span', { class: 'note' }, raw.note) : null,
	blockedSpan(task.blockedOn),
	group.maxUnchanged !== null ? h('span', { class: 'unchanged' },
		`unchanged ${formatDuration(group.maxUnchanged)}`) : null);
}

function metaItem(name, value) {
	return value === null || value === undefined || value === '' ? null
		: h('div', { class: 'meta-item' }, h('dt', null, name), h('dd', null, value));
}

function renderBody(group, task, ctx) {
	const raw = task.raw;
	const runtime = ctx.runtime(raw.runtime);
	const thread = raw.thread ? `${raw.thread.name || '?'} (${raw.thread.tid})` : null;
	const members = group.tasks.length > 1 ? group.tasks.filter((t) => t !== task) : [];
	return [
		h('dl', { class: 'meta' },
			metaItem('kind', raw.kind),
			metaItem('id', raw.id ?? null),
			metaItem('state', raw.state),
			metaItem('address', raw.address),
			metaItem('runtime', runtime),
			metaItem('thread', thread),
			metaItem('unchanged for', task.unchanged !== null ? formatDuration(task.unchanged) : null),
			metaItem('note', raw.note)),
		members.length ? h('p', { class: 'members' },
			`Showing ${task.label}. Same trace: `,
			members.slice(0, MEMBERS_SHOWN).map((t) => t.label).join(', '),
			members.length > MEMBERS_SHOWN ? ` and ${formatCount(members.length - MEMBERS_SHOWN)} more.` : '.')
			: null,
		raw.root ? renderTaskTree(raw.root, ctx)
			: h('p', { class: 'note' }, raw.note || 'This task has no decoded future.'),
	];
}

export class TaskList {
	// ctx: { taskHref(id), runtime(index) → text, sourceRoot, onToggle(group, open) }
	constructor(listEl, ctx) {
		this.listEl = listEl;
		this.ctx = ctx;
		this.groups = [];
		this.rows = [];          // sparse: rows built so far, by index
		this.chunks = [];        // per CHUNK groups: its placeholder, or null once built
		this.rowHeight = 35;     // of a closed row; measured on the first one built
		this.expanded = new Set();
		this.shown = new Map();  // group key → the member task whose tree is shown
		this.observer = new IntersectionObserver((entries) => {
			for (const e of entries)
				if (e.isIntersecting)
					this.fill(Number(e.target.dataset.chunk));
		}, { rootMargin: '800px 0px' });
	}

	// Shows `groups`; rows whose key is in `expanded` open with their tree.
	// Every chunk of rows starts as a placeholder of the same height, so the
	// scroll bar is right from the start and a jump builds one chunk only.
	show(groups, expanded) {
		this.observer.disconnect();
		this.groups = groups;
		this.expanded = expanded;
		// A group opened on one of its tasks stays on that task in a new
		// sample, if it is still there.
		const shown = new Map();
		for (const group of groups) {
			const old = this.shown.get(group.key);
			const task = old && group.tasks.find((t) => t.key === old.key);
			if (task)
				shown.set(group.key, task);
		}
		this.shown = shown;
		this.rows = [];
		this.chunks = [];
		clear(this.listEl);
		for (let start = 0; start < groups.length; start += CHUNK) {
			const n = Math.min(CHUNK, groups.length - start);
			const k = this.chunks.length;
			const placeholder = h('li', {
				class: 'placeholder', tabindex: '0', dataset: { chunk: String(k), count: String(n) },
				onfocus: () => this.fill(k, { focus: true }),
			}, `${formatCount(n)} more rows (${formatCount(start + 1)}–${formatCount(start + n)})`);
			placeholder.style.height = `${n * this.rowHeight}px`;
			this.chunks.push(placeholder);
			this.listEl.append(placeholder);
		}
		if (this.chunks.length) {
			this.fill(0);
			for (const placeholder of this.chunks)
				if (placeholder)
					this.observer.observe(placeholder);
		}
	}

	// Builds the rows of chunk k in place of its placeholder.
	fill(k, { focus = false } = {}) {
		const placeholder = this.chunks[k];
		if (!placeholder)
			return;
		this.chunks[k] = null;
		this.observer.unobserve(placeholder);
		const fragment = document.createDocumentFragment();
		const end = Math.min(this.groups.length, (k + 1) * CHUNK);
		for (let i = k * CHUNK; i < end; i++)
			fragment.append(this.renderRow(i));
		const first = fragment.firstChild;
		placeholder.replaceWith(fragment);
		if (k === 0 && first && !first.classList.contains('open'))
			this.measure(first);
		if (focus && first)
			first.querySelector('.row-toggle').focus();
	}

	measure(row) {
		const height = row.getBoundingClientRect().height;
		if (height > 0 && Math.abs(height - this.rowHeight) > 0.5) {
			this.rowHeight = height;
			for (const placeholder of this.chunks)
				if (placeholder)
					placeholder.style.height = `${Number(placeholder.dataset.count) * height}px`;
		}
	}

	renderRow(i) {
		const group = this.groups[i];
		const bodyId = `row-${i}-body`;
		const toggle = renderHead(group, bodyId, this.ctx);
		const body = h('div', { class: 'row-body', id: bodyId, hidden: true });
		const el = h('li', { class: 'row' + (group.stuck ? ' stuck' : ''), id: `row-${i}` }, toggle, body);
		const row = { el, toggle, body, group, built: null };
		toggle.addEventListener('click', () => {
			const open = toggle.getAttribute('aria-expanded') !== 'true';
			this.setOpen(row, open);
			this.ctx.onToggle(group, open);
		});
		this.rows[i] = row;
		if (this.expanded.has(group.key))
			this.setOpen(row, true);
		return el;
	}

	setOpen(row, open) {
		if (open) {
			const task = this.shown.get(row.group.key) || row.group.rep;
			if (row.built !== task) {
				clear(row.body);
				row.body.append(...renderBody(row.group, task, this.ctx).filter(Boolean));
				row.built = task;
			}
			this.expanded.add(row.group.key);
		} else {
			this.expanded.delete(row.group.key);
		}
		row.body.hidden = !open;
		row.el.classList.toggle('open', open);
		row.toggle.setAttribute('aria-expanded', String(open));
	}

	// Opens the row of `task` (in group `index`), scrolls to it, marks it.
	reveal(index, task) {
		this.fill(Math.floor(index / CHUNK));
		const row = this.rows[index];
		if (task !== row.group.rep || this.shown.has(row.group.key))
			this.shown.set(row.group.key, task);
		this.setOpen(row, true);
		for (const old of this.listEl.querySelectorAll('.row.highlight'))
			old.classList.remove('highlight');
		row.el.classList.add('highlight');
		row.el.scrollIntoView({ block: 'start' });
		row.toggle.focus({ preventScroll: true });
		return row.el;
	}
}
