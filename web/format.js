// SPDX-License-Identifier: MIT
// Words and numbers for people: durations, paths, what a future waits on.
// Pure functions (no DOM), so the tests can check them on their own.

const NUMBER = new Intl.NumberFormat('en');

export function formatCount(n) {
	return NUMBER.format(n);
}

// "0.4 s", "12 s", "59 min", "5 min 12 s", "3 h 20 min", "2 d 4 h".
// Coarser as it grows: nobody needs the seconds of an hour-long timer.
export function formatDuration(seconds) {
	if (typeof seconds !== 'number' || !Number.isFinite(seconds))
		return '?';
	const s = Math.abs(seconds);
	if (s < 10)
		return `${Math.round(s * 10) / 10} s`;
	if (s < 60)
		return `${Math.floor(s)} s`;
	const min = Math.floor(s / 60);
	if (s < 600)
		return `${min} min ${Math.floor(s % 60)} s`;
	if (s < 3600)
		return `${min} min`;
	const hours = Math.floor(s / 3600);
	if (s < 86400)
		return `${hours} h` + (min % 60 ? ` ${min % 60} min` : '');
	const days = Math.floor(s / 86400);
	return `${days} d` + (hours % 24 ? ` ${hours % 24} h` : '');
}

export function formatPause(us) {
	if (typeof us !== 'number')
		return '?';
	if (us < 1000)
		return `${us} µs`;
	return `${Math.round(us / 100) / 10} ms`;
}

// Paths in DWARF are absolute and long. Relative to the program's source
// root when the document names one (as the text format shows them), else
// from the crate's directory: "…/tests/targets/demo/src/main.rs" →
// "demo/src/main.rs", "/usr/share/cargo/registry/tokio-1.24.2/src/time/sleep.rs"
// → "tokio-1.24.2/src/time/sleep.rs". The full path stays in the tooltip.
export function shortPath(file, sourceRoot = null) {
	if (typeof file !== 'string' || file === '')
		return '?';
	if (typeof sourceRoot === 'string' && sourceRoot) {
		const root = sourceRoot.endsWith('/') ? sourceRoot : `${sourceRoot}/`;
		if (file.startsWith(root) && file.length > root.length)
			return file.slice(root.length);
	}
	const parts = file.split('/');
	const src = parts.lastIndexOf('src');
	if (src >= 1 && src < parts.length - 1)
		return parts.slice(src - 1).join('/');
	return parts.slice(-3).join('/');
}

export function formatLocation(loc, sourceRoot = null) {
	if (!loc || typeof loc.file !== 'string')
		return null;
	const line = loc.line ? `:${loc.line}` : '';
	return { text: shortPath(loc.file, sourceRoot) + line, title: loc.file + line };
}

const FRAME_KIND_WORDS = {
	async_fn: 'async fn',
	async_block: 'async block',
	async_closure: 'async closure',
	future: 'future',
	task: 'task',
};

export function frameKindWord(kind) {
	return FRAME_KIND_WORDS[kind] || kind || 'future';
}

// async fns read like calls, as in the design's text format.
export function frameDisplayName(frame) {
	const name = frame.name || frame.type || '(unnamed future)';
	return frame.kind === 'async_fn' ? `${name}()` : name;
}

const RESOURCE_WORDS = {
	timer: 'timer',
	task: 'task',
	mutex: 'mutex',
	rwlock: 'rwlock',
	semaphore: 'semaphore',
	notify: 'notify',
	oneshot: 'oneshot',
	mpsc: 'channel',
	io: 'I/O',
	signal: 'signal',
	process: 'child process',
	other: 'other',
	broadcast: 'broadcast',
	watch: 'watch',
	barrier: 'barrier',
	join_set: 'JoinSet',
	yield: 'yield',
	h2_stream: 'HTTP/2 stream',
	never: 'nothing (never completes)',
};

function permitsText(b) {
	const parts = [];
	if (typeof b.permits_wanted === 'number' && b.permits_wanted >= 0)
		parts.push(`wants ${b.permits_wanted}`);
	if (typeof b.permits_available === 'number' && b.permits_available >= 0)
		parts.push(`${b.permits_available} available`);
	return parts.join(', ');
}

// "tcp 127.0.0.1:6379 ← 127.0.0.1:54022 ESTABLISHED": the socket as the
// kernel saw it at the sample; the arrow goes from the side that connected
// to the side that accepted (↔ when that is not known).
const ORIGIN_ARROWS = { accepted: '←', connected: '→' };

export function socketText(s) {
	const str = (v) => (typeof v === 'string' ? v : '');
	const unix = s.family === 'unix';
	const parts = [unix ? `unix ${str(s.protocol)}`.trim() : str(s.protocol)];
	if (str(s.local))
		parts.push(s.local);
	if (str(s.peer))
		parts.push(ORIGIN_ARROWS[s.origin] || '↔', s.peer);
	if (str(s.state))
		parts.push(s.state);
	return parts.filter(Boolean).join(' ');
}

// What a leaf waits on, in a few words: {kind, word, detail, text, title,
// taskId}; text is e.g. "timer fires in 59 min", "task 12", "fd 7 readable".
export function describeBlockedOn(b) {
	if (!b || typeof b !== 'object')
		return null;
	const kind = typeof b.kind === 'string' ? b.kind : 'other';
	const word = RESOURCE_WORDS[kind] || kind;
	const address = typeof b.address === 'string' ? b.address : '';
	const title = b.description || `${word} ${address}`.trim();
	let detail;
	switch (kind) {
	case 'timer':
		if (typeof b.time_left_s === 'number')
			detail = b.time_left_s >= 0 ? `fires in ${formatDuration(b.time_left_s)}`
				: `overdue by ${formatDuration(-b.time_left_s)}`;
		else
			detail = address;
		break;
	case 'task':
		detail = typeof b.task_id === 'number' ? String(b.task_id) : address;
		break;
	case 'io':
		if (typeof b.fd === 'number' && b.fd >= 0)
			detail = `fd ${b.fd}` + (b.interest ? ` ${b.interest}` : '');
		else
			detail = b.interest ? `${b.interest} ${address}` : address;
		if (b.socket && typeof b.socket === 'object')
			detail += `: ${socketText(b.socket)}`;
		break;
	case 'mutex':
	case 'rwlock':
	case 'semaphore': {
		const permits = permitsText(b);
		detail = address + (permits ? ` (${permits})` : '');
		break;
	}
	case 'other':
		detail = b.description || address;
		break;
	default:
		detail = address;
	}
	detail = detail.trim();
	const text = kind === 'io' && detail.startsWith('fd ') ? detail : `${word} ${detail}`.trim();
	return { kind, word, detail, text, title, taskId: kind === 'task' ? b.task_id : undefined };
}

// "task 7", "local task 3", "block_on on thread 1234 "main"".
export function taskLabel(task) {
	if (task.kind === 'block_on') {
		const th = task.thread;
		if (th && th.name)
			return `block_on · thread ${th.name} (${th.tid})`;
		return th ? `block_on · thread ${th.tid}` : 'block_on';
	}
	const prefix = task.kind === 'local' ? 'local task' : 'task';
	if (task.id !== null && task.id !== undefined)
		return `${prefix} ${task.id}`;
	return `${prefix} ${task.address || '?'}`;
}

// "12:03:04 (3 s ago)" from an RFC 3339 time.
export function formatCapturedAt(iso, now = Date.now()) {
	const t = Date.parse(iso);
	if (Number.isNaN(t))
		return iso ? String(iso) : '?';
	const when = new Date(t).toLocaleTimeString([], { hour12: false });
	const ago = (now - t) / 1000;
	if (ago < 1)
		return `${when} (just now)`;
	return `${when} (${formatDuration(ago)} ago)`;
}
