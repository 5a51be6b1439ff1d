// SPDX-License-Identifier: MIT
// Shared by the browser tests: Debian's chromium through playwright-core, a
// tiny static server for fixture runs, and helpers to wait on the page.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';

const require = createRequire(import.meta.url);

// playwright-core comes from tests/browser/node_modules (`npm ci`, which
// ./dev check runs), or from a directory on NODE_PATH (e.g. a distcheck
// build whose copied source tree has no node_modules).
function loadPlaywright() {
	try {
		return require('playwright-core');
	} catch (e) {
		throw new Error('playwright-core is not installed: run ./dev check, or `npm ci` in tests/browser ' +
			`(or point NODE_PATH at a node_modules that has it): ${e.message}`);
	}
}

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
	'--disable-component-update', '--disable-sync', '--no-first-run'];

export const here = path.dirname(new URL(import.meta.url).pathname);
export const topSrcdir = process.env.top_srcdir || path.resolve(here, '../..');
export const webRoot = path.join(topSrcdir, 'web');
export const artifactsDir = path.join(process.env.top_builddir || path.resolve(here, '../../build'),
	'tests', 'browser', 'artifacts');

// A fresh browser with its own throw-away profile; close() removes both.
export async function launchBrowser({ colorScheme = 'light' } = {}) {
	const { chromium } = loadPlaywright();
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'asyncdump-browser-'));
	let context;
	try {
		context = await chromium.launchPersistentContext(profile, {
			executablePath: CHROMIUM,
			headless: true,
			args: CHROMIUM_ARGS,
			viewport: { width: 1280, height: 860 },
			colorScheme,
		});
	} catch (e) {
		fs.rmSync(profile, { recursive: true, force: true });
		throw e;
	}
	const errors = [];
	context.on('weberror', (err) => errors.push(String(err.error())));
	return {
		context,
		errors,
		async newPage() {
			const page = await context.newPage();
			page.on('console', (msg) => {
				// An HTTP error status is logged by the browser itself; the tests
				// that provoke one check the page's message instead.
				if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource'))
					errors.push(`console: ${msg.text()}`);
			});
			return page;
		},
		async close() {
			await context.close().catch(() => {});
			fs.rmSync(profile, { recursive: true, force: true });
		},
	};
}

const CONTENT_TYPES = {
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript; charset=utf-8',
	'.css': 'text/css; charset=utf-8',
	'.svg': 'image/svg+xml',
	'.json': 'application/json',
};

// Serves web/ at / and answers API paths from `routes`: a function
// (pathname) → {status, body, type} or null (404). Listens on a free
// loopback port; returns {url, close, hits} where hits counts requests by path.
export async function startFixtureServer(routes) {
	const hits = new Map();
	const server = http.createServer((req, res) => {
		const url = new URL(req.url, 'http://x');
		hits.set(url.pathname, (hits.get(url.pathname) || 0) + 1);
		const answer = routes(url.pathname, url);
		if (answer) {
			const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
			res.writeHead(answer.status || 200, { 'Content-Type': answer.type || 'application/json' });
			res.end(body);
			return;
		}
		const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
		const file = path.join(webRoot, name);
		if (!name.includes('..') && !name.includes('/') && fs.existsSync(file)) {
			res.writeHead(200, { 'Content-Type': CONTENT_TYPES[path.extname(file)] || 'application/octet-stream' });
			res.end(fs.readFileSync(file));
			return;
		}
		res.writeHead(404, { 'Content-Type': 'application/json' });
		res.end(JSON.stringify({ error: { code: 'not_found', message: `no such path: ${url.pathname}` } }));
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address();
	return {
		url: `http://127.0.0.1:${port}/`,
		hits,
		close: () => new Promise((resolve) => {
			server.closeAllConnections();
			server.close(resolve);
		}),
	};
}

export function readFixture(name) {
	return JSON.parse(fs.readFileSync(path.join(here, 'fixtures', name), 'utf8'));
}

export async function screenshot(page, name) {
	fs.mkdirSync(artifactsDir, { recursive: true });
	const file = path.join(artifactsDir, name);
	await page.screenshot({ path: file, fullPage: false });
	return file;
}

// The rows of the task list: [{label, text, open, stuck}].
export async function rows(page) {
	return page.$$eval('#tasks > li.row', (lis) => lis.map((li) => ({
		id: li.id,
		label: li.querySelector('.tlabel')?.textContent,
		text: li.textContent,
		open: li.classList.contains('open'),
		stuck: li.classList.contains('stuck'),
		highlight: li.classList.contains('highlight'),
	})));
}

// The row whose label is exactly `label` (e.g. "task 7").
export function rowByLabel(page, label) {
	return page.locator('#tasks > li.row').filter({
		has: page.locator('.tlabel', { hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }),
	});
}

export function assertNoPageErrors(browser) {
	assert.deepEqual(browser.errors, [], 'the page logged errors');
}

// Fails unless `doc` follows docs/trace.schema.json (python3-jsonschema, as
// the renderer's own tests use), so fixtures say what the daemon says.
export function assertFollowsSchema(doc, what) {
	const schema = path.join(topSrcdir, 'docs', 'trace.schema.json');
	const check = spawnSync('python3', ['-c', `
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(sys.stdin)
errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=lambda e: list(e.absolute_path))
for e in errors[:5]:
    print("/".join(map(str, e.absolute_path)) + ": " + e.message[:300])
sys.exit(1 if errors else 0)
`, schema], { input: JSON.stringify(doc), encoding: 'utf8' });
	assert.equal(check.status, 0, `${what} does not follow ${schema}:\n${check.stdout}${check.stderr}`);
}
