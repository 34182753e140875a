// Bureau pages: ask before a sanction that revokes a base's qualification for three years.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.classList || !form.classList.contains("js-confirm-revocation")) return;
  const sanction = form.querySelector("select[name=sanction]");
  if (sanction && sanction.value === "revocation" && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
