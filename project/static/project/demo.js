// The demo pages' JSON boxes: one line per element, each keeping its indentation when it wraps,
// so a 64-character hash or a JWT continues under its key instead of at column 0.
function showJSON(box, value) {
  box.replaceChildren(...JSON.stringify(value, null, 2).split("\n").map((line) => {
    const row = document.createElement("span");
    const text = line.trimStart();
    row.className = "json-line";
    row.style.paddingLeft = (line.length - text.length) + "ch";
    row.textContent = text;
    return row;
  }));
}
