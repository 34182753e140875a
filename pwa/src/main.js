// Placeholder entry until the field app lands (issue 4).
document.body.textContent = '抽查通';
