// SPDX-License-Identifier: MIT
// The one way this viewer builds DOM: h('tag', {attributes}, ...children).
// Text always goes in as text nodes, never as HTML, so names and paths read
// from a target can never inject markup.

export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	if (attrs) {
		for (const [name, value] of Object.entries(attrs)) {
			if (value === null || value === undefined || value === false)
				continue;
			if (name === 'class')
				el.className = value;
			else if (name === 'text')
				el.textContent = value;
			else if (name === 'dataset')
				Object.assign(el.dataset, value);
			else if (name.startsWith('on') && typeof value === 'function')
				el.addEventListener(name.slice(2), value);
			else
				el.setAttribute(name, value === true ? '' : String(value));
		}
	}
	append(el, children);
	return el;
}

// Appends children like h() does: nested arrays flattened, null/false skipped.
export function append(el, children) {
	for (const child of children) {
		if (child === null || child === undefined || child === false)
			continue;
		if (Array.isArray(child))
			append(el, child);
		else if (child instanceof Node)
			el.appendChild(child);
		else
			el.appendChild(document.createTextNode(String(child)));
	}
}

export function clear(el) {
	while (el.firstChild)
		el.removeChild(el.firstChild);
}
