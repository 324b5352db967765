// Exam agreement: keep the remembered display mode; avoid a double submit.
import { applyStoredHighVisibility } from "./exam-common.js";

applyStoredHighVisibility(null);
const form = document.getElementById("agreement-form");
form.addEventListener("submit", () => {
  document.getElementById("begin-exam").disabled = true;
});
