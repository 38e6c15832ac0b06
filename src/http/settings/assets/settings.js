// The settings pages' one script. Plain JavaScript, no build step.
// Export page: copy buttons and the link builder. The builder composes the query string from the
// controls marked data-param, in page order, and asks the server's own parser (GET …/check?query)
// whether it is valid, so an error on the page reads exactly as the feed's 400 would.
// API keys: the copy button of a key just made.
// Account settings: how far every dt_* will move with the zone picked, and the confirmation
// asked for only when the zone changes.
"use strict";

function copyText(text, button) {
  const done = () => {
    const label = button.textContent;
    button.textContent = "Скопировано";
    button.dataset.copied = "1";
    setTimeout(() => { button.textContent = label; }, 2000);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => legacyCopy(text) && done());
  } else if (legacyCopy(text)) {
    done();
  }
}

// For plain-http pages, where the Clipboard API is not offered.
function legacyCopy(text) {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
  area.remove();
  return ok;
}

// Ids may be typed with spaces or commas; the feed wants them joined by "-".
function idList(value) {
  return value.trim().replace(/[\s,;]+/g, "-").replace(/^-+|-+$/g, "");
}

function compose(builder) {
  const params = new URLSearchParams();
  for (const control of builder.querySelectorAll("[data-param]")) {
    const name = control.dataset.param;
    if (control.classList.contains("checks")) {
      const values = [...control.querySelectorAll("input:checked")].map((i) => i.value);
      if (values.length) params.append(name, values.join("-"));
    } else if (control.type === "checkbox") {
      if (control.checked) params.append(name, control.value);
    } else {
      let value = control.value.trim();
      if (control.inputMode === "numeric") value = idList(value);
      if (name === "date_format" && (value === "" || value === "DD.MM.YYYY")) continue;
      if (value !== "") params.append(name, value);
    }
  }
  return params.toString();
}

function setupBuilder(builder) {
  const base = builder.dataset.baseUrl;
  const checkUrl = builder.dataset.check;
  const built = builder.querySelector("textarea.built");
  const open = builder.querySelector("a.open");
  const error = builder.querySelector(".builder-error");
  const ignored = builder.querySelector(".ignored");
  const example = builder.querySelector(".example output");
  let sequence = 0;
  let timer = null;

  const showError = (parameter, text) => {
    for (const el of builder.querySelectorAll("[data-invalid]")) el.removeAttribute("data-invalid");
    if (text) {
      error.textContent = text;
      error.hidden = false;
      open.setAttribute("aria-disabled", "true");
      const culprit = parameter && builder.querySelector(`[data-param="${CSS.escape(parameter)}"]`);
      if (culprit) culprit.setAttribute("data-invalid", "");
    } else {
      error.textContent = "";
      error.hidden = true;
      open.removeAttribute("aria-disabled");
    }
  };

  const check = async (query) => {
    const mine = ++sequence;
    builder.dataset.checking = "1";
    try {
      const answer = await fetch(checkUrl + (query ? "?" + query : ""), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      const body = await answer.json();
      if (mine !== sequence) return;
      if (answer.ok) {
        showError(null, null);
        example.textContent = body.date_example;
        ignored.hidden = !body.ignored_params.length;
        ignored.textContent = "Сервер не знает и пропустит: " + body.ignored_params.join(", ");
      } else if (answer.status === 401) {
        showError(null, "Сессия закончилась: обновите страницу и войдите снова.");
      } else {
        showError(body.parameter, body.text);
      }
    } catch (e) {
      if (mine === sequence) showError(null, "Не удалось проверить ссылку: сервер недоступен.");
    } finally {
      if (mine === sequence) delete builder.dataset.checking;
    }
  };

  const update = () => {
    const query = compose(builder);
    const url = query ? `${base}?${query}` : base;
    built.value = url;
    open.href = url;
    builder.dataset.checking = "1";
    clearTimeout(timer);
    timer = setTimeout(() => check(query), 150);
  };

  builder.addEventListener("input", update);
  builder.addEventListener("change", update);
  builder.querySelector("button.reset").addEventListener("click", () => {
    for (const control of builder.querySelectorAll("[data-param] input, input[data-param]")) {
      if (control.type === "checkbox") control.checked = false; else control.value = "";
    }
    update();
  });
  builder.querySelector("button.copy-built").addEventListener("click", (event) => {
    copyText(built.value, event.currentTarget);
  });
  update();
}

// "+2 ч", "-1 ч 30 мин", "0 ч": as accounts::shift_text writes it.
function shiftText(minutes) {
  const sign = minutes > 0 ? "+" : minutes < 0 ? "-" : "";
  const hours = Math.floor(Math.abs(minutes) / 60);
  const rest = Math.abs(minutes) % 60;
  return rest ? `${sign}${hours} ч ${rest} мин` : `${sign}${hours} ч`;
}

function setupZone(select) {
  const change = document.querySelector(".zone-change");
  const shift = change.querySelector(".shift");
  const box = change.querySelector("input[name=confirm_timezone]");
  const current = Number(select.dataset.currentOffset);
  const update = () => {
    const moved = select.value !== select.dataset.current;
    change.hidden = !moved;
    box.required = moved;
    if (!moved) {
      box.checked = false;
      return;
    }
    const offset = Number(select.selectedOptions[0].dataset.offset);
    shift.querySelector("output").textContent =
      `Все даты-время (dt_*) во всех фидах сдвинутся на ${shiftText(offset - current)}: ` +
      `${select.dataset.current} → ${select.value}.`;
    shift.hidden = false;
  };
  select.addEventListener("change", update);
  update();
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll(".url-row button.copy, .key-row button.copy")) {
    button.addEventListener("click", () => {
      copyText(button.parentElement.querySelector("input").value, button);
    });
  }
  for (const builder of document.querySelectorAll("details.builder")) setupBuilder(builder);
  const zone = document.querySelector("select#timezone");
  if (zone) setupZone(zone);
});
