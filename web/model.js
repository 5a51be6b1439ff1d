// SPDX-License-Identifier: MIT
// From the daemon's JSON to what the page shows: tasks indexed by id,
// identical traces grouped, groups filtered and sorted. No DOM here.
//
// Documents come from a live process through a decoder: the viewer bounds
// every walk (depth) instead of trusting their shape.

import { describeBlockedOn, frameDisplayName, taskLabel } from './format.js';

const MAX_WALK_DEPTH = 1000;

// A task waits this long unchanged before it is called stuck, unless the
// document says so itself (hang detection's own threshold: "stuck": true).
export const STUCK_AFTER_S = 60;

const STATE_RANK = { running: 0, scheduled: 1, idle: 2, cancelled: 3, complete: 4 };
const DONE_FRAME_STATES = new Set(['completed', 'ready']);

export class DocumentError extends Error {}

// GET /pids answers an array, or an object holding one.
export function normalisePids(json) {
	let list = null;
	if (Array.isArray(json))
		list = json;
	else if (json && typeof json === 'object')
		list = [json.pids, json.processes].find(Array.isArray) || null;
	if (!list)
		throw new DocumentError('the list of processes has an unexpected shape (no array of processes)');
	return list.filter((p) => p && Number.isInteger(Number(p.pid))).map((p) => ({
		pid: Number(p.pid),
		exe: typeof p.exe === 'string' ? p.exe : null,
		comm: typeof p.comm === 'string' ? p.comm : null,
		uid: p.uid,
		traceable: p.traceable === true,
		reason: typeof p.reason === 'string' ? p.reason : null,
	})).sort((a, b) => (b.traceable - a.traceable) || (a.pid - b.pid));
}

// The key a task is found by in URLs and links: its id, else its address
// (block_on futures have no tokio id).
export function taskKey(task) {
	if (task.id !== null && task.id !== undefined)
		return String(task.id);
	return String(task.address || '');
}

export function isDoneFrame(frame) {
	if (frame.kind === 'task')
		return frame.state === 'complete' || DONE_FRAME_STATES.has(frame.state);
	return DONE_FRAME_STATES.has(frame.state);
}

function childrenOf(frame) {
	return Array.isArray(frame.children) ? frame.children : [];
}

// The first leaf's blocked_on, depth first, not entering awaited tasks.
function firstBlockedOn(frame, depth = 0) {
	if (!frame || depth > MAX_WALK_DEPTH || frame.kind === 'task')
		return null;
	if (frame.blocked_on)
		return frame.blocked_on;
	for (const child of childrenOf(frame)) {
		const found = firstBlockedOn(child, depth + 1);
		if (found)
			return found;
	}
	return null;
}

// The innermost frame with a location on the first path: where the task is.
function innermostLocated(root) {
	let best = null;
	let frame = root;
	for (let depth = 0; frame && frame.kind !== 'task' && depth < MAX_WALK_DEPTH; depth++) {
		if (frame.location)
			best = frame;
		frame = childrenOf(frame)[0];
	}
	return best;
}

// Two tasks are "the same trace" when their trees have the same frames,
// states, lines and kinds of resource — addresses, ids and deadlines aside.
function frameSignature(frame, out, depth) {
	if (!frame || typeof frame !== 'object' || depth > MAX_WALK_DEPTH) {
		out.push('…');
		return;
	}
	out.push(frame.kind, '|', frame.name || frame.type || '', '|', frame.state || '');
	if (frame.location)
		out.push('@', frame.location.file, ':', frame.location.line);
	if (frame.macro_location)
		out.push('^', frame.macro_location.file, ':', frame.macro_location.line);
	if (frame.blocked_on)
		out.push('!', frame.blocked_on.kind);
	if (frame.error)
		out.push('?', frame.error);
	if (frame.recursion)
		out.push('~');
	if (frame.kind === 'task' && frame.root)
		frameSignature(frame.root, out, depth + 1);
	const children = childrenOf(frame);
	if (children.length) {
		out.push('(');
		for (const child of children) {
			frameSignature(child, out, depth + 1);
			out.push(',');
		}
		out.push(')');
	}
}

function taskSignature(task) {
	const out = [task.kind, task.state, task.note || ''];
	if (task.root)
		frameSignature(task.root, out, 0);
	return out.join('');
}

function searchText(frame, out, depth) {
	if (!frame || typeof frame !== 'object' || depth > MAX_WALK_DEPTH)
		return;
	out.push(frame.kind === 'task' ? `task ${frame.task_id}` : frameDisplayName(frame));
	if (frame.type && frame.type !== frame.name)
		out.push(frame.type);
	for (const loc of [frame.location, frame.macro_location]) {
		if (loc && loc.file)
			out.push(`${loc.file}:${loc.line}`);
	}
	const b = describeBlockedOn(frame.blocked_on);
	if (b)
		out.push(b.kind, b.word, b.text, b.title);
	if (frame.error)
		out.push(frame.error);
	if (frame.state)
		out.push(frame.state);
	if (frame.kind === 'task' && frame.root)
		searchText(frame.root, out, depth + 1);
	for (const child of childrenOf(frame))
		searchText(child, out, depth + 1);
}

// Indexes a trace document. Throws DocumentError when it is not one.
export function prepareTrace(doc) {
	if (!doc || typeof doc !== 'object' || !Array.isArray(doc.tasks))
		throw new DocumentError('the response is not a trace document (no "tasks" array)');
	const inCycle = new Set();
	for (const cycle of Array.isArray(doc.cycles) ? doc.cycles : [])
		for (const id of Array.isArray(cycle) ? cycle : [])
			inCycle.add(String(id));
	const tasks = doc.tasks.map((raw, index) => {
		const key = taskKey(raw);
		const unchanged = typeof raw.unchanged_for_s === 'number' ? raw.unchanged_for_s : null;
		const where = innermostLocated(raw.root);
		return {
			raw,
			index,
			key,
			label: taskLabel(raw),
			unchanged,
			inCycle: inCycle.has(key),
			stuck: raw.stuck === true || inCycle.has(key) ||
				(raw.stuck !== false && unchanged !== null && unchanged >= STUCK_AFTER_S),
			blockedOn: raw.blocked_on || firstBlockedOn(raw.root),
			where,
		};
	});
	const byKey = new Map();
	for (const task of tasks)
		if (!byKey.has(task.key))
			byKey.set(task.key, task);
	return { doc, tasks, byKey };
}

function newGroup(key, task) {
	return {
		key,
		tasks: [task],
		rep: task,
		order: task.index,
		stateRank: STATE_RANK[task.raw.state] ?? 5,
		maxUnchanged: task.unchanged,
		stuck: task.stuck,
		search: null,
	};
}

function addToGroup(group, task) {
	group.tasks.push(task);
	if (task.unchanged !== null && (group.maxUnchanged === null || task.unchanged > group.maxUnchanged))
		group.maxUnchanged = task.unchanged;
	if (task.stuck && !group.stuck) {
		group.stuck = true;
		group.rep = task; // open the group on a task that shows why it is stuck
	}
}

// Groups of identical traces (or one group per task when `enabled` is false),
// in the order their first task appears in the document.
export function groupTasks(trace, enabled) {
	const groups = [];
	if (!enabled) {
		for (const task of trace.tasks)
			groups.push(newGroup(`t:${task.index}:${task.key}`, task));
		return groups;
	}
	const bySignature = new Map();
	for (const task of trace.tasks) {
		const signature = taskSignature(task.raw);
		const group = bySignature.get(signature);
		if (group) {
			addToGroup(group, task);
		} else {
			const created = newGroup(`s:${signature}`, task);
			bySignature.set(signature, created);
			groups.push(created);
		}
	}
	return groups;
}

function groupSearchText(group) {
	if (group.search === null) {
		const raw = group.rep.raw;
		const out = [raw.kind, raw.state, raw.note || '', raw.thread ? raw.thread.name : ''];
		for (const task of group.tasks)
			out.push(task.label);
		searchText(raw.root, out, 0);
		const b = describeBlockedOn(group.rep.blockedOn);
		if (b)
			out.push(b.kind, b.text);
		if (group.stuck)
			out.push('stuck');
		group.search = out.join('\n').toLowerCase();
	}
	return group.search;
}

// Every word of the query must appear (function, file, resource kind, …).
export function filterGroups(groups, query) {
	const words = String(query || '').toLowerCase().split(/\s+/).filter(Boolean);
	if (!words.length)
		return groups;
	return groups.filter((g) => {
		const text = groupSearchText(g);
		return words.every((w) => text.includes(w));
	});
}

export const SORTS = {
	order: (a, b) => a.order - b.order,
	count: (a, b) => (b.tasks.length - a.tasks.length) || (a.order - b.order),
	state: (a, b) => (a.stateRank - b.stateRank) || (a.order - b.order),
	unchanged: (a, b) => ((b.maxUnchanged ?? -1) - (a.maxUnchanged ?? -1)) ||
		(b.stuck - a.stuck) || (a.order - b.order),
};

export function sortGroups(groups, how) {
	return groups.slice().sort(SORTS[how] || SORTS.order);
}

export function taskStateRank(state) {
	return STATE_RANK[state] ?? 5;
}
