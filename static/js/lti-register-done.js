// Tells the LMS that Dynamic Registration is finished so it closes its dialog
// (LTI Dynamic Registration: {subject: "org.imsglobal.lti.close"}).
function closeRegistration() {
  const target = window.opener || window.parent;
  if (target && target !== window) {
    target.postMessage({ subject: "org.imsglobal.lti.close" }, "*");
  }
}
closeRegistration();
document.getElementById("close-registration")?.addEventListener("click", closeRegistration);
