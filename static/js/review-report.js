// Incident report: one button to print (or save as PDF from the print dialog).
document.getElementById("print-report")?.addEventListener("click", () => window.print());
