// SPDX-License-Identifier: MIT
// One task's tree of futures as DOM, outermost future first.
//
// A chain of futures that each await one child reads top to bottom without
// indentation; only where a future polls several children (join, select,
// FuturesUnordered) does the tree branch, and the branches sit side by side
// when there is room, each marked done or pending. An awaited task's tree
// nests under the future that awaits it. Long chains, wide branchings and
// nested tasks are built only when someone asks to see them.
//
// Adapter layers ("adapter": true: futures' Map, Then, Fuse, tracing's
// Instrumented...) fold into the future they wrap, which then says
// "via Map, Then" (in the order the code wrote them); the adapter frames
// stay in the document and in the tooltip of that note.

import { append, h } from './dom.js';
import { describeBlockedOn, formatLocation, frameDisplayName, frameKindWord } from './format.js';
import { isDoneFrame } from './model.js';

const CHAIN_STEP = 60;    // frames built at once in one chain
const BRANCH_STEP = 12;   // branches built at once at one branching
const MAX_NESTING = 200;  // awaited tasks inside awaited tasks
const MAX_CHAIN_DEPTH = 10000;

const STATE_WORDS = {
	unresumed: 'unresumed at',
	suspended: 'suspended at',
	completed: 'completed at',
	panicked: 'panicked at',
	pending: 'pending',
	ready: 'ready',
	unknown: 'state unknown',
};

function children(frame) {
	return Array.isArray(frame.children) ? frame.children : [];
}

function taskLink(ctx, id, text, cls = 'task-link') {
	return h('a', { class: cls, href: ctx.taskHref(id), dataset: { task: String(id) } }, text);
}

function blockedChip(ctx, blockedOn) {
	const b = describeBlockedOn(blockedOn);
	if (!b)
		return null;
	const detail = b.kind === 'task' && typeof b.taskId === 'number'
		? taskLink(ctx, b.taskId, b.detail) : b.detail;
	return h('span', { class: `blocked rk-${b.kind}`, title: b.title },
		h('span', { class: 'rk' }, b.word), detail ? ' ' : null, detail);
}

function locationSpan(ctx, loc, cls) {
	const l = formatLocation(loc, ctx.sourceRoot);
	return l ? h('span', { class: cls, title: l.title }, l.text) : null;
}

const MAX_FOLDED = 256;

// An adapter layer that only wraps one future: drawn as a note on it.
function foldableAdapter(frame) {
	const kids = children(frame);
	return frame.adapter === true && kids.length === 1 && kids[0] && kids[0].kind !== 'task'
		&& !frame.blocked_on && !frame.error && !frame.truncated && !frame.not_polled
		&& !(Array.isArray(frame.locals) && frame.locals.length);
}

// The future that frame's adapter layers wrap (frame itself when it is none),
// and the layers: {frame, via: [words, innermost first], types: [...]}.
export function skipAdapters(frame) {
	const words = [];
	const types = [];
	let f = frame;
	for (let i = 0; i < MAX_FOLDED && f && typeof f === 'object' && foldableAdapter(f); i++) {
		types.push(f.type || f.name || '?');
		const word = typeof f.adapter_name === 'string' ? f.adapter_name : null;
		if (word && words[words.length - 1] !== word)
			words.push(word);
		f = children(f)[0];
	}
	return { frame: f, via: words.reverse(), types };
}

function viaNote(folded) {
	if (!folded || !folded.types.length)
		return null;
	const text = folded.via.length ? `via ${folded.via.join(', ')}` : 'via an adapter';
	return h('span', { class: 'via', title: folded.types.join('\n') }, text);
}

function hasTaskChild(frame, id) {
	return children(frame).some((c) => c.kind === 'task' && c.task_id === id);
}

function renderFrame(frame, ctx, folded = null) {
	const state = typeof frame.state === 'string' ? frame.state : 'unknown';
	const kind = typeof frame.kind === 'string' ? frame.kind : 'future';
	const loc = locationSpan(ctx, frame.location, 'loc');
	const stateWord = STATE_WORDS[state] || state;
	const awaits = typeof frame.awaits_task === 'number' && !hasTaskChild(frame, frame.awaits_task)
		? taskLink(ctx, frame.awaits_task, `awaits task ${frame.awaits_task}`, 'task-link await-link')
		: null;
	return h('li', { class: `frame fs-${state} fk-${kind}` + (frame.not_polled ? ' not-polled' : '') },
		h('div', { class: 'frame-line' },
			h('span', { class: 'glyph', 'aria-hidden': 'true' }),
			h('span', { class: 'fn', title: frame.type || null }, frameDisplayName(frame)),
			kind !== 'async_fn' ? h('span', { class: 'fkind' }, frameKindWord(kind)) : null,
			frame.not_polled ? h('span', { class: 'fkind' }, 'not polled') : null,
			h('span', { class: 'fstate' }, loc ? stateWord : stateWord.replace(/ at$/, '')),
			loc,
			frame.macro_location ? h('span', { class: 'macro' }, 'in macro at ',
				locationSpan(ctx, frame.macro_location, 'loc')) : null,
			viaNote(folded),
			blockedChip(ctx, frame.blocked_on),
			awaits),
		frame.error ? h('div', { class: 'ferr' }, `undecodable: ${frame.error}`) : null,
		frame.truncated ? h('div', { class: 'cut' },
			'… deeper futures not shown: the document\'s nesting limit was reached') : null,
		Array.isArray(frame.locals) && frame.locals.length ? h('ul', { class: 'locals', 'aria-label': 'not polled yet' },
			frame.locals.map((local) => renderFrame(local, ctx))) : null);
}

function moreButton(label, onClick) {
	return h('li', { class: 'more' }, h('button', { type: 'button', class: 'link-button', onclick: onClick }, label));
}

// Appends `frame` and the single-child chain below it to `list`.
function appendChain(list, frame, ctx, nesting) {
	let f = frame;
	for (let built = 0; f && typeof f === 'object'; built++) {
		if (built >= CHAIN_STEP) {
			const rest = f;
			const button = moreButton(`Show ${chainLength(rest)} more frames`, () => {
				button.remove();
				appendChain(list, rest, ctx, nesting);
			});
			list.append(button);
			return;
		}
		const folded = skipAdapters(f);
		f = folded.frame;
		if (!f || typeof f !== 'object')
			return;
		if (f.kind === 'task') {
			list.append(renderAwaitedTask(f, ctx, nesting));
			return;
		}
		list.append(renderFrame(f, ctx, folded));
		const kids = children(f);
		if (kids.length > 1) {
			list.append(renderBranches(kids, ctx, nesting));
			return;
		}
		f = kids[0];
	}
}

function chainLength(frame) {
	let n = 0;
	for (let f = frame; f && n < MAX_CHAIN_DEPTH && f.kind !== 'task'; f = children(f)[0]) {
		f = skipAdapters(f).frame;
		if (!f || f.kind === 'task')
			break;
		n++;
		if (children(f).length !== 1)
			break;
	}
	return n;
}

function branchState(frame) {
	if (isDoneFrame(frame))
		return { cls: 'done', word: 'completed' };
	if (frame.state === 'unresumed' || frame.not_polled)
		return { cls: 'unstarted', word: 'not started' };
	return { cls: 'pending', word: 'pending' };
}

function renderBranch(child, i, n, ctx, nesting) {
	const st = branchState(skipAdapters(child).frame || child);
	const chain = h('ol', { class: 'chain' });
	appendChain(chain, child, ctx, nesting);
	return h('li', { class: `branch ${st.cls}` },
		h('div', { class: 'branch-head' },
			h('span', { class: 'branch-mark', 'aria-hidden': 'true' }),
			`branch ${i + 1} of ${n} · ${st.word}`),
		chain);
}

function renderBranches(kids, ctx, nesting) {
	const list = h('ul', { class: 'branch-list', 'aria-label': `${kids.length} branches polled together` });
	const addFrom = (start) => {
		const end = Math.min(kids.length, start + BRANCH_STEP);
		for (let i = start; i < end; i++)
			list.append(renderBranch(kids[i], i, kids.length, ctx, nesting));
		if (end < kids.length) {
			const button = moreButton(`Show ${kids.length - end} more branches`, () => {
				button.remove();
				addFrom(end);
			});
			list.append(button);
		}
	};
	addFrom(0);
	return h('li', { class: 'branches' }, list);
}

function renderRecursion(node, ctx) {
	const cycle = Array.isArray(node.cycle) ? node.cycle : [];
	return h('li', { class: 'awaited recursion' },
		h('div', { class: 'awaited-head' },
			h('span', { class: 'glyph', 'aria-hidden': 'true' }),
			h('span', { class: 'recursion-word' }, 'recursion'), ' awaits ',
			taskLink(ctx, node.task_id, `task ${node.task_id}`),
			cycle.length ? ` — cycle ${cycle.join(' → ')}` : '',
			', not showing its trace again'));
}

function awaitedHead(ctx, node, state) {
	return [
		h('span', { class: 'awaits-word' }, 'awaits '),
		taskLink(ctx, node.task_id, `task ${node.task_id}`),
		h('span', { class: `badge st-${state}` }, state),
		node.address ? h('span', { class: 'addr' }, node.address) : null,
		node.note ? h('span', { class: 'note' }, node.note) : null,
	];
}

// A child of kind "task": the tree of a task this future awaits; or why it
// is not shown (a cycle, the document's limits, a task not in the sample).
function renderAwaitedTask(node, ctx, nesting) {
	if (node.recursion)
		return renderRecursion(node, ctx);
	const state = typeof node.state === 'string' ? node.state : 'unknown';
	const head = h('div', { class: 'awaited-head' });
	const li = h('li', { class: `awaited ts-${state}` }, head);
	if (node.missing || node.truncated || !node.root || nesting >= MAX_NESTING) {
		append(head, [h('span', { class: 'glyph', 'aria-hidden': 'true' }), awaitedHead(ctx, node, state),
			h('span', { class: 'cut' }, node.missing ? 'not in this sample (it may have completed)'
				: node.truncated ? 'its tree is not repeated here (document limits): follow the link'
					: 'no tree decoded')]);
		li.classList.add(node.missing ? 'missing' : 'cut-link');
		return li;
	}
	let body = null;
	const toggle = h('button', {
		type: 'button', class: 'disclose', 'aria-expanded': 'false',
		'aria-label': `Show the tree of task ${node.task_id}`,
	});
	const setOpen = (open) => {
		if (open && !body) {
			body = h('ol', { class: 'chain nested' });
			appendChain(body, node.root, ctx, nesting + 1);
			li.append(body);
		}
		if (body)
			body.hidden = !open;
		toggle.setAttribute('aria-expanded', String(open));
	};
	append(head, [toggle, awaitedHead(ctx, node, state)]);
	toggle.addEventListener('click', () => setOpen(toggle.getAttribute('aria-expanded') !== 'true'));
	setOpen(nesting === 0);
	return li;
}

// The tree of a task (its root frame); ctx.taskHref(id) makes task links,
// ctx.sourceRoot shortens paths.
export function renderTaskTree(root, ctx) {
	const chain = h('ol', { class: 'chain' });
	if (root && typeof root === 'object')
		appendChain(chain, root, ctx, 0);
	return chain;
}
