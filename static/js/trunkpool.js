// Progressive enhancement only: every page works without this file.
document.documentElement.classList.add("js");

// Forms marked data-autosubmit save as soon as a switch changes.
document.querySelectorAll("form[data-autosubmit] input[type=checkbox]").forEach((input) => {
  input.addEventListener("change", () => input.form.requestSubmit());
});

// @mention autocomplete: offers only people who can see the event (the server decides).
document.querySelectorAll("form[data-mention-url]").forEach((form) => {
  const input = form.querySelector("textarea");
  const menu = form.querySelector(".mention-menu");
  if (!input || !menu) return;
  let timer = null;
  let active = -1;

  const close = () => { menu.classList.add("d-none"); menu.innerHTML = ""; active = -1; };
  const wordAtCaret = () => {
    const before = input.value.slice(0, input.selectionStart);
    const match = before.match(/(^|[^\w@.+-])@([\w.+-]*)$/);
    return match ? { query: match[2], start: before.length - match[2].length } : null;
  };
  const choose = (username) => {
    const word = wordAtCaret();
    if (!word) return close();
    const end = input.selectionStart;
    input.value = input.value.slice(0, word.start) + username + " " + input.value.slice(end);
    const caret = word.start + username.length + 1;
    input.setSelectionRange(caret, caret);
    input.focus();
    close();
  };
  const highlight = () => {
    [...menu.children].forEach((el, i) => el.classList.toggle("active", i === active));
  };

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const word = wordAtCaret();
    if (!word) return close();
    timer = setTimeout(async () => {
      const url = form.dataset.mentionUrl + "?q=" + encodeURIComponent(word.query);
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) return close();
      const { results } = await response.json();
      menu.innerHTML = "";
      results.forEach((person) => {
        const item = document.createElement("button");
        item.type = "button";
        item.className = "list-group-item list-group-item-action";
        item.setAttribute("role", "option");
        item.dataset.username = person.username;
        item.textContent = `@${person.username} · ${person.name} (${person.role})`;
        item.addEventListener("mousedown", (e) => { e.preventDefault(); choose(person.username); });
        menu.appendChild(item);
      });
      active = results.length ? 0 : -1;
      highlight();
      menu.classList.toggle("d-none", results.length === 0);
    }, 120);
  });
  input.addEventListener("keydown", (e) => {
    if (menu.classList.contains("d-none")) return;
    const items = [...menu.children];
    if (e.key === "ArrowDown") { active = (active + 1) % items.length; highlight(); e.preventDefault(); }
    else if (e.key === "ArrowUp") { active = (active - 1 + items.length) % items.length; highlight(); e.preventDefault(); }
    else if ((e.key === "Enter" || e.key === "Tab") && active >= 0) { choose(items[active].dataset.username); e.preventDefault(); }
    else if (e.key === "Escape") { close(); }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
});
