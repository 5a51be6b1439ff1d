// SPDX-License-Identifier: MIT
// The daemon's HTTP API. Every failure becomes an ApiError whose message a
// person can act on: the daemon's own {"error": {"code", "message"}} when
// it sent one, else what went wrong on the way.
//
// URLs are relative to the page, so the viewer also works behind a proxy
// that serves asyncdumpd under a prefix.

export class ApiError extends Error {
	constructor(message, { status = 0, code = null } = {}) {
		super(message);
		this.status = status;
		this.code = code;
	}
}

async function errorFrom(response, what) {
	let text = '';
	try {
		text = await response.text();
	} catch {
		/* the body is optional for the message */
	}
	let body = null;
	try {
		body = JSON.parse(text);
	} catch {
		/* not JSON: quoted below */
	}
	const err = body && body.error;
	if (err && typeof err.message === 'string')
		return new ApiError(err.message, { status: response.status, code: err.code || null });
	const excerpt = text.trim().slice(0, 200);
	return new ApiError(`${what} failed: HTTP ${response.status} ${response.statusText}` +
		(excerpt ? ` — ${excerpt}` : ''), { status: response.status });
}

async function getJson(path, what, signal) {
	let response;
	try {
		response = await fetch(path, { headers: { Accept: 'application/json' }, signal, cache: 'no-store' });
	} catch (e) {
		if (e.name === 'AbortError')
			throw e;
		throw new ApiError(`${what} failed: asyncdumpd did not answer (${e.message}). Is it still running?`);
	}
	if (!response.ok)
		throw await errorFrom(response, what);
	try {
		return await response.json();
	} catch (e) {
		throw new ApiError(`${what} failed: the answer is not valid JSON (${e.message})`,
			{ status: response.status });
	}
}

export function fetchPids(signal) {
	return getJson('pids', 'Listing processes', signal);
}

// locals: also futures created but not polled yet (?locals=1).
export function fetchTrace(pid, { locals = false, signal } = {}) {
	return getJson(`pids/${encodeURIComponent(pid)}/tasks${locals ? '?locals=1' : ''}`,
		`Sampling process ${pid}`, signal);
}

// The core files of the daemon's cores directory this client may read.
export function fetchCores(signal) {
	return getJson('cores', 'Listing core files', signal);
}

export function fetchCoreTrace(name, { locals = false, signal } = {}) {
	return getJson(`cores/${encodeURIComponent(name)}/tasks${locals ? '?locals=1' : ''}`,
		`Reading core file ${name}`, signal);
}
