// Progressive enhancement only: every page works without this file.
document.documentElement.classList.add("js");

// Forms marked data-autosubmit save as soon as a switch changes.
document.querySelectorAll("form[data-autosubmit] input[type=checkbox]").forEach((input) => {
  input.addEventListener("change", () => input.form.requestSubmit());
});

