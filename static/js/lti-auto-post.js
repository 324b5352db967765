// Submits the signed LTI message form as soon as the page loads; the visible
// "Continue" button does the same without JavaScript.
const form = document.querySelector("form[data-auto-submit]");
if (form) {
  const button = form.querySelector("button[type=submit]");
  if (button) button.disabled = true; // one submission only
  form.submit();
}
