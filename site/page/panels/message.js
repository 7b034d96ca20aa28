// A panel's one-line message under a control: plain text, red when it reports a mistake.
export function message(node, text, isError = true) {
  node.textContent = text;
  node.classList.toggle('error', Boolean(text) && isError);
}
