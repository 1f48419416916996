// Holder pickers (accounts/fields.py HolderField): suggestions as the person types.
// Progressive enhancement only: without this file the box is a plain search the server
// resolves on submit. The server decides who may be offered; this only shows its answer.
document.querySelectorAll("input[data-holder-input][data-holder-url]").forEach((input) => {
  const list = document.getElementById(input.getAttribute("list"));
  if (!list) return;
  // Options the server always offers (e.g. "Organization custody") stay on the list.
  const fixed = [...list.querySelectorAll("option[data-fixed]")];
  let timer = null;
  let asked = 0;

  const show = (people) => {
    list.replaceChildren(
      ...fixed,
      ...people.map((person) => {
        const option = document.createElement("option");
        option.value = person.label;
        option.textContent = `${person.name} · ${person.role}`;
        return option;
      }),
    );
  };

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const text = input.value.trim();
    // A chosen suggestion ("Name (username)") needs no new question.
    if ([...list.options].some((option) => option.value === input.value)) return;
    timer = setTimeout(async () => {
      const ticket = ++asked;
      const url = `${input.dataset.holderUrl}&q=${encodeURIComponent(text)}`;
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        if (!response.ok || ticket !== asked) return;
        const { results } = await response.json();
        if (ticket === asked) show(results);
      } catch {
        // Offline or refused: the box still works as a plain search.
      }
    }, 150);
  });
});
