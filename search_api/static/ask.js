// The Classify and Similarity tabs: one image (a file or an indexed id, whichever was given
// last), its picture beside the answer, and a bar per label or text.
"use strict";

function lines(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean);
}

// The one image a form names: the file chosen or the id typed, whichever came last
// (typing an id clears the file, choosing a file clears the id: see wireAskForm).
function formImage(form) {
  const file = form.elements.file.files[0];
  if (file) return { file };
  const id = form.elements.image_id.value;
  return id ? { id } : null;
}

function renderBars(list, rows) {
  list.replaceChildren(
    ...rows.map(({ name, probability, score }) => {
      const item = document.createElement("li");
      const label = document.createElement("span");
      label.className = "bar-label";
      label.textContent = name;
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.setProperty("--p", probability);
      const value = document.createElement("span");
      value.className = "bar-value";
      value.textContent = `${(probability * 100).toFixed(1)} %  (cos ${score.toFixed(3)})`;
      item.append(label, bar, value);
      return item;
    }),
  );
}

async function showScoredImage(img, image) {
  try {
    showPicture(img, image.file ? await previewUrl(image.file) : `/images/${image.id}/thumbnail`);
  } catch {
    showPicture(img, null);
  }
}

function wireAskForm(formId, path, field, toRows) {
  const form = $(formId);
  const panel = form.parentElement;
  const status = $(".status", panel);
  const list = $("ol.bars", panel);
  const scored = $("img.scored", panel);
  form.elements.image_id.addEventListener("input", () => (form.elements.file.value = ""));
  form.elements.file.addEventListener("change", () => (form.elements.image_id.value = ""));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const image = formImage(form);
    if (!image) return setStatus(status, "form.needImage", {}, true);
    const body = new FormData();
    if (image.file) body.append("file", image.file);
    else body.append("image_id", image.id);
    lines(form.elements[field].value).forEach((text) => body.append(field, text));
    if (form.elements.template) body.append("template", form.elements.template.value);
    setStatus(status, "ask.busy");
    try {
      const answer = await api(path, { method: "POST", body });
      renderBars(list, toRows(answer));
      if (image.file) setStatus(status, "ask.forUpload", { name: image.file.name });
      else setStatus(status, "ask.forImage", { id: answer.image_id });
      await showScoredImage(scored, image);
    } catch (error) {
      list.replaceChildren();
      showPicture(scored, null);
      setError(status, error);
    }
  });
}

