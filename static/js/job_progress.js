// The job page polls its progress; without this file it is a page to refresh.
document.querySelectorAll("[data-job-progress-url]").forEach((box) => {
  if (box.dataset.jobFinished === "1") return;
  const bar = box.querySelector("progress");
  const text = (name) => box.querySelector(`[data-job-${name}]`);
  const poll = async () => {
    let state;
    try {
      const response = await fetch(box.dataset.jobProgressUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(response.statusText);
      state = await response.json();
    } catch (error) {
      window.setTimeout(poll, 5000);
      return;
    }
    if (state.finished) {
      window.location.reload();
      return;
    }
    if (state.total) {
      bar.max = state.total;
      bar.value = state.processed;
    }
    text("status").textContent = state.status_label;
    text("stage").textContent = state.stage ? ` · ${state.stage}` : "";
    text("processed").textContent = state.processed.toLocaleString("en-US");
    text("total").textContent = state.total.toLocaleString("en-US");
    text("percent").textContent = state.percent;
    window.setTimeout(poll, 1000);
  };
  window.setTimeout(poll, 1000);
});
