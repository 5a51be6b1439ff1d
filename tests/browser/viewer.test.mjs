// SPDX-License-Identifier: MIT
// The viewer against the real asyncdumpd and the live design example
// (`demo 1`), started by viewer.test.sh, which passes:
//   VIEWER_URL   the daemon's address
//   TARGET_PID   the demo's pid
//   MAIN_LINE, FOO_LINE, SLEEP_LINE   the lines of its `// @mark` markers
//     main_awaits_foo, foo_point1_awaits_sleep, sleep_awaits_timer
//
// At suspension point 1, main (the block_on future) awaits task foo's
// JoinHandle; foo awaits sleep(), which awaits a tokio timer of an hour.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { assertNoPageErrors, launchBrowser, rows, screenshot } from './lib.mjs';

const env = (name) => {
	const value = process.env[name];
	assert.ok(value, `${name} is set (run viewer.test.sh)`);
	return value;
};

const url = env('VIEWER_URL');
const pid = env('TARGET_PID');
const line = { main: env('MAIN_LINE'), foo: env('FOO_LINE'), sleep: env('SLEEP_LINE') };

let browser;
let page;

before(async () => {
	browser = await launchBrowser();
	page = await browser.newPage();
});

after(async () => {
	await browser?.close();
});

// The row whose tree shows `name` suspended at main.rs:`at`; exactly one.
async function rowShowing(name, at) {
	const matching = [];
	for (const row of await page.locator('#tasks > li.row').all()) {
		const toggle = row.locator('.row-toggle');
		if (await toggle.getAttribute('aria-expanded') !== 'true')
			await toggle.click();
		const frames = await row.locator('.row-body .frame-line').allTextContents();
		if (frames.some((f) => f.includes(name) && f.includes(`main.rs:${at}`)))
			matching.push(row);
	}
	return matching;
}

test('the demo is listed, chosen, and its tasks shown', async () => {
	await page.goto(url);
	const option = page.locator(`#process option[value="${pid}"]`);
	await option.waitFor({ state: 'attached', timeout: 20000 });
	assert.doesNotMatch(await option.textContent(), /—/, 'listed as traceable (no reason given)');
	await page.locator('#process').selectOption(pid);
	await page.locator('#tasks > li.row').first().waitFor({ timeout: 20000 });
	assert.match(page.url(), new RegExp(`[?&]pid=${pid}(&|$)`));
	const overview = await page.locator('#overview').textContent();
	assert.ok(overview.includes(`pid ${pid}`));
	assert.ok(overview.includes('demo'));
	assert.match(overview, /tokio 0/, 'the runtime is shown');
	const labels = (await rows(page)).map((r) => r.label);
	assert.ok(labels.some((l) => /^block_on/.test(l)), `main's block_on is a row (rows: ${labels})`);
	assert.ok(labels.some((l) => /^task \d+$/.test(l)), `foo's task is a row (rows: ${labels})`);
});

test('task foo: its suspension lines from the source, and the leaf timer', async () => {
	const [foo, ...others] = await rowShowing('demo::foo()', line.foo);
	assert.ok(foo, `a row shows demo::foo() at main.rs:${line.foo}`);
	// main's row shows foo's tree too (under its task link): foo's own row
	// is the one labelled "task N".
	const fooRows = [foo, ...others];
	const own = [];
	for (const row of fooRows)
		if (/^task \d+$/.test(await row.locator('.tlabel').textContent()))
			own.push(row);
	assert.equal(own.length, 1, 'exactly one task row is foo');
	const body = own[0].locator('.row-body');
	const frames = await body.locator('.frame-line').allTextContents();
	const sleepAt = frames.findIndex((f) => f.includes('demo::sleep()') && f.includes(`main.rs:${line.sleep}`));
	const fooAt = frames.findIndex((f) => f.includes('demo::foo()') && f.includes(`main.rs:${line.foo}`));
	assert.ok(fooAt >= 0 && sleepAt > fooAt, `foo (main.rs:${line.foo}) awaits sleep (main.rs:${line.sleep}): ${frames.join(' | ')}`);
	const leaf = body.locator('.frame .blocked');
	assert.equal(await leaf.count(), 1, 'one leaf is blocked');
	assert.equal(await leaf.locator('.rk').textContent(), 'timer');
	// the row's summary line says the same without opening it
	assert.ok((await own[0].locator('.row-toggle').textContent()).includes(`main.rs:${line.sleep}`));
	await screenshot(page, 'viewer-foo.png');
});

test('main awaits task foo: the link jumps to foo\'s row', async () => {
	const main = page.locator('#tasks > li.row').filter({ has: page.locator('.tlabel', { hasText: /^block_on/ }) });
	assert.equal(await main.count(), 1);
	const toggle = main.locator('.row-toggle');
	if (await toggle.getAttribute('aria-expanded') !== 'true')
		await toggle.click();
	const frames = await main.locator('.row-body .frame-line').allTextContents();
	assert.ok(frames.some((f) => f.includes(`main.rs:${line.main}`)), `main suspended at main.rs:${line.main}: ${frames.join(' | ')}`);
	// close every row, then follow the link
	const opened = page.locator('#tasks > li.row .row-toggle[aria-expanded="true"]');
	while (await opened.count() > 0)
		await opened.first().click();
	assert.equal(await page.locator('#tasks > li.row.open').count(), 0);
	await toggle.click();
	const awaits = main.locator('.row-body .awaited-head').first();
	const id = (await awaits.textContent()).match(/awaits task (\d+)/)?.[1];
	assert.ok(id, `main shows "awaits task N": ${await awaits.textContent()}`);
	await awaits.locator(`a.task-link[data-task="${id}"]`).click();
	const target = page.locator('#tasks > li.row.highlight.open');
	await target.waitFor();
	assert.equal(await target.locator('.tlabel').textContent(), `task ${id}`);
	const targetFrames = await target.locator('.row-body .frame-line').allTextContents();
	assert.ok(targetFrames.some((f) => f.includes('demo::foo()') && f.includes(`main.rs:${line.foo}`)),
		'the linked task is foo');
	assert.match(page.url(), new RegExp(`[?&]task=${id}(&|$)`));
	await page.waitForTimeout(1700); // the highlight's flash is over
	await screenshot(page, 'viewer.png');
	assertNoPageErrors(browser);
});

test('the shared URL opens the same view', async () => {
	const shared = page.url();
	const second = await browser.newPage();
	try {
		await second.goto(shared);
		const open = second.locator('#tasks > li.row.highlight.open');
		await open.waitFor({ timeout: 20000 });
		const frames = await open.locator('.row-body .frame-line').allTextContents();
		assert.ok(frames.some((f) => f.includes('demo::foo()') && f.includes(`main.rs:${line.foo}`)));
	} finally {
		await second.close();
	}
});
