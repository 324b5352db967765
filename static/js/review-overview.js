// Exam overview: filters apply on change (the Apply button stays for keyboard and no-JS use);
// arrow keys move between attempt links in the table.
const form = document.getElementById("overview-filters");
form?.querySelectorAll("select").forEach((el) => el.addEventListener("change", () => form.requestSubmit()));

const links = () => Array.from(document.querySelectorAll("#attempts-table .attempt-link"));
document.getElementById("attempts-table")?.addEventListener("keydown", (event) => {
  if (!["ArrowDown", "ArrowUp"].includes(event.key)) return;
  const all = links();
  const i = all.indexOf(document.activeElement);
  if (i < 0) return;
  event.preventDefault();
  const next = all[Math.min(all.length - 1, Math.max(0, i + (event.key === "ArrowDown" ? 1 : -1)))];
  next?.focus();
});
