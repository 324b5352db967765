// Development LMS: submit the signed launch form as soon as the page loads (OIDC form_post).
const form = document.getElementById("autopost");
if (form) form.submit();
