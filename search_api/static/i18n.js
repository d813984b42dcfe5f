// The page's words in English and Simplified Chinese: picked from the browser's language,
// switched with the header's button, remembered in localStorage. The API answers in English;
// explainError() turns its answers into the reader's words.
"use strict";

const LANGUAGES = ["en", "zh-CN"];
const LANGUAGE_KEY = "rsclip.language";

const STRINGS = {
  en: {
    "page.title": "rsclip-search",
    "stats.loading": "loading the index…",
    "stats.line": "{items} images · {model} · {dimension}-d",
    "stats.noModel": "no model",
    "lang.switch": "中文",
    "lang.switchLabel": "切换到中文 (switch to Chinese)",
    "nav.label": "What to do",
    "tab.search": "Search",
    "tab.classify": "Classify",
    "tab.similarity": "Similarity",
    "tab.map": "Map",
    "notice.random":
      "This index uses a tiny model with <strong>random weights</strong> (the offline demo): everything runs for real, but the rankings are meaningless. Start with <code>--model /path/to/Git-RSCLIP</code> for real results.",
    "search.queryLabel": "Text query",
    "search.placeholder": "Describe what you look for, e.g. a river winding through farmland",
    "search.button": "Search",
    "search.englishNote":
      "The model was trained on English captions: a query in another language is passed to it as typed and may match less well.",
    "filters.summary": "Place and time",
    "filters.set": "({count} set)",
    "filters.bbox": "Footprint meets box (min lon, min lat, max lon, max lat)",
    "filters.from": "Acquired from",
    "filters.to": "to",
    "filters.source": "Source starts with",
    "drop.text": "Drop a photo or GeoTIFF here, or <u>choose a file</u>, to find images that look like it.",
    "drop.previewAlt": "The chosen file as the search reads it",
    "status.typeFirst": "Type what you are looking for first.",
    "status.searching": "Searching {what}…",
    "status.results": "{count} results for {what}",
    "status.oneResult": "1 result for {what}",
    "status.none": "No results for {what}",
    "describe.text": "“{query}”",
    "describe.image": "images like {name}",
    "describe.similar": "more like #{id}",
    "more": "More results",
    "map.label": "Map of the results: each chip drawn on its footprint",
    "map.draw": "Draw a box",
    "map.drawing": "Drag on the map to draw the box (Esc cancels)",
    "map.useView": "Use this view as the box",
    "map.clear": "Clear the box",
    "map.count": "{count} of {total} results on the map. The chips are the base map: nothing is fetched from elsewhere.",
    "form.image": "Image",
    "form.upload": "Upload",
    "form.orId": "or indexed id",
    "form.needImage": "Choose a file or type an indexed id first.",
    "classify.labels": "Candidate labels, one per line",
    "classify.template": "Prompt template ({} is the label)",
    "classify.submit": "Classify",
    "similarity.texts": "Texts, one per line",
    "similarity.submit": "Score texts",
    "ask.busy": "Asking the model…",
    "ask.forImage": "Image #{id}",
    "ask.forUpload": "Uploaded image {name}",
    "ask.scoredAlt": "The image being scored",
    "detail.mapLabel": "Footprint on a map",
    "detail.more": "More like this",
    "detail.classify": "Classify",
    "detail.original": "Original",
    "detail.close": "Close",
    "detail.window": "x {x}, y {y}, {width} × {height} px",
    "meta.score": "score",
    "meta.source": "source",
    "meta.member": "member",
    "meta.size": "size",
    "meta.format": "format",
    "meta.indexed": "indexed",
    "meta.scene": "scene",
    "meta.window": "window",
    "meta.bands": "bands",
    "meta.acquired": "acquired",
    "meta.sensor": "sensor",
    "meta.crs": "CRS",
    "meta.resolution": "resolution",
    "meta.bbox": "bbox",
    "emap.heading": "Map of the index",
    "emap.intro":
      "Each point is an indexed image, placed by its embedding: images the model finds alike lie close together. Click a point to open its image.",
    "emap.colourBy": "Colour by",
    "emap.byLabel": "label",
    "emap.bySource": "source",
    "emap.label": "Embedding map of the indexed images",
    "emap.loading": "Making the map…",
    "emap.fromFile": "Your map ({file}): {points} of {total} images, {method}.",
    "emap.computed":
      "{points} of {total} images on their two principal axes (PCA, made by the server). For a t-SNE or UMAP map with your own labels: rsclip plot --out map.png --json-out DATA_DIR/embedding-map.json",
    "emap.legend": "Colours",
    "error.network": "The server cannot be reached.",
    "error.page": "The page failed: {message}",
    "error.notFound": "There is no indexed image #{id}.",
    "error.missingFile": "This image's file is no longer where it was indexed.",
    "error.changed": "This image's file has changed since it was indexed: index it again.",
    "error.tooLarge": "The file is larger than this server accepts.",
    "error.tooManyPixels": "The image has more pixels than this server accepts.",
    "error.format": "This kind of file cannot be read. Use JPEG, PNG, TIFF or GeoTIFF, or WebP.",
    "error.damaged": "The file could not be decoded: it may be damaged.",
    "error.busy": "The server is busy. Try again in a few seconds.",
    "error.denied": "This needs the server's key.",
    "error.server": "The server failed ({status}). Its log says more.",
    "error.refused": "The server refused the request: {reason}",
    "error.bbox": "The box needs four numbers in degrees: min lon, min lat, max lon, max lat, with min ≤ max.",
    "error.dates": "The start date is after the end date.",
    "error.date": "{field} is not a date.",
    "error.tooLong": "{field} is too long (at most {max} characters).",
    "error.empty": "{field} is empty.",
    "error.missing": "{field} is missing.",
    "error.range": "{field} is out of range.",
    "error.invalid": "{field} is not valid.",
    "error.template": "The prompt template needs {} where the label goes.",
    "error.tooManyLines": "Too many lines: at most {max}.",
    "error.noLines": "Give at least one line.",
    "field.query": "The query",
    "field.bbox": "The box",
    "field.date_from": "The start date",
    "field.date_to": "The end date",
    "field.source": "The source",
    "field.image_id": "The image id",
    "field.labels": "The labels",
    "field.texts": "The texts",
    "field.template": "The template",
    "field.file": "The file",
    "field.k": "The number of results",
    "field.offset": "The page",
    "field.other": "A value",
  },
  "zh-CN": {
    "page.title": "rsclip 遥感影像检索",
    "stats.loading": "正在读取索引…",
    "stats.line": "{items} 张影像 · {model} · {dimension} 维",
    "stats.noModel": "无模型",
    "lang.switch": "English",
    "lang.switchLabel": "Switch to English（切换到英文）",
    "nav.label": "功能",
    "tab.search": "检索",
    "tab.classify": "分类",
    "tab.similarity": "图文匹配",
    "tab.map": "嵌入图",
    "notice.random":
      "此索引使用<strong>随机权重</strong>的微型模型（离线演示）：一切流程真实运行，但排序没有意义。使用 <code>--model /path/to/Git-RSCLIP</code> 启动以获得真实结果。",
    "search.queryLabel": "文本查询",
    "search.placeholder": "描述要找的内容，例如 a river winding through farmland",
    "search.button": "检索",
    "search.englishNote": "模型是用英文描述训练的：中文查询会按原样传给模型，匹配效果可能不如英文。",
    "filters.summary": "地点与时间",
    "filters.set": "（已设置 {count} 项）",
    "filters.bbox": "覆盖范围与矩形相交（最小经度, 最小纬度, 最大经度, 最大纬度）",
    "filters.from": "获取日期从",
    "filters.to": "至",
    "filters.source": "来源以此开头",
    "drop.text": "把照片或 GeoTIFF 拖到这里，或<u>选择文件</u>，查找与之相似的影像。",
    "drop.previewAlt": "所选文件（按检索读取的方式渲染）",
    "status.typeFirst": "请先输入要查找的内容。",
    "status.searching": "正在检索{what}…",
    "status.results": "{what}：{count} 个结果",
    "status.oneResult": "{what}：1 个结果",
    "status.none": "{what}：没有结果",
    "describe.text": "“{query}”",
    "describe.image": "与 {name} 相似的影像",
    "describe.similar": "与 #{id} 相似的影像",
    "more": "更多结果",
    "map.label": "结果地图：每个切片绘制在其覆盖范围上",
    "map.draw": "画框筛选",
    "map.drawing": "在地图上拖动以画框（按 Esc 取消）",
    "map.useView": "以当前视图为筛选框",
    "map.clear": "清除筛选框",
    "map.count": "{total} 个结果中有 {count} 个显示在地图上。底图就是切片本身：不从别处加载任何内容。",
    "form.image": "影像",
    "form.upload": "上传",
    "form.orId": "或索引编号",
    "form.needImage": "请先选择文件或输入索引编号。",
    "classify.labels": "候选类别，每行一个",
    "classify.template": "提示模板（{} 代表类别）",
    "classify.submit": "分类",
    "similarity.texts": "文本，每行一个",
    "similarity.submit": "计算匹配度",
    "ask.busy": "正在询问模型…",
    "ask.forImage": "影像 #{id}",
    "ask.forUpload": "上传的影像 {name}",
    "ask.scoredAlt": "正在评分的影像",
    "detail.mapLabel": "地图上的覆盖范围",
    "detail.more": "查找相似",
    "detail.classify": "分类",
    "detail.original": "原图",
    "detail.close": "关闭",
    "detail.window": "x {x}, y {y}, {width} × {height} 像素",
    "meta.score": "得分",
    "meta.source": "来源",
    "meta.member": "成员",
    "meta.size": "尺寸",
    "meta.format": "格式",
    "meta.indexed": "索引时间",
    "meta.scene": "场景",
    "meta.window": "窗口",
    "meta.bands": "波段",
    "meta.acquired": "获取日期",
    "meta.sensor": "传感器",
    "meta.crs": "坐标系",
    "meta.resolution": "分辨率",
    "meta.bbox": "范围",
    "emap.heading": "索引嵌入图",
    "emap.intro": "每个点是一张已索引的影像，按其嵌入向量排布：模型认为相似的影像彼此靠近。点击一个点可打开该影像。",
    "emap.colourBy": "着色依据",
    "emap.byLabel": "标签",
    "emap.bySource": "来源",
    "emap.label": "已索引影像的嵌入图",
    "emap.loading": "正在生成嵌入图…",
    "emap.fromFile": "你的嵌入图（{file}）：{total} 张影像中的 {points} 张，{method}。",
    "emap.computed":
      "{total} 张影像中的 {points} 张，按两个主成分排布（PCA，由服务器计算）。要用 t-SNE 或 UMAP 并显示自己的标签：rsclip plot --out map.png --json-out DATA_DIR/embedding-map.json",
    "emap.legend": "颜色",
    "error.network": "无法连接服务器。",
    "error.page": "页面出错：{message}",
    "error.notFound": "没有编号为 #{id} 的已索引影像。",
    "error.missingFile": "该影像的文件已不在索引时的位置。",
    "error.changed": "该影像的文件在索引后已被修改，请重新索引。",
    "error.tooLarge": "文件超过了服务器接受的大小。",
    "error.tooManyPixels": "影像像素数超过了服务器接受的上限。",
    "error.format": "无法读取这种文件。请使用 JPEG、PNG、TIFF 或 GeoTIFF、WebP。",
    "error.damaged": "文件无法解码，可能已损坏。",
    "error.busy": "服务器繁忙，请几秒后再试。",
    "error.denied": "此操作需要服务器的密钥。",
    "error.server": "服务器出错（{status}），详情见服务器日志。",
    "error.refused": "服务器拒绝了请求：{reason}",
    "error.bbox": "筛选框需要四个以度为单位的数：最小经度, 最小纬度, 最大经度, 最大纬度，且最小值 ≤ 最大值。",
    "error.dates": "开始日期晚于结束日期。",
    "error.date": "{field}不是有效日期。",
    "error.tooLong": "{field}太长（最多 {max} 个字符）。",
    "error.empty": "{field}为空。",
    "error.missing": "缺少{field}。",
    "error.range": "{field}超出范围。",
    "error.invalid": "{field}无效。",
    "error.template": "提示模板中需要用 {} 表示类别的位置。",
    "error.tooManyLines": "行数太多：最多 {max} 行。",
    "error.noLines": "请至少填写一行。",
    "field.query": "查询文本",
    "field.bbox": "筛选框",
    "field.date_from": "开始日期",
    "field.date_to": "结束日期",
    "field.source": "来源",
    "field.image_id": "影像编号",
    "field.labels": "类别",
    "field.texts": "文本",
    "field.template": "提示模板",
    "field.file": "文件",
    "field.k": "结果数",
    "field.offset": "页码",
    "field.other": "某个值",
  },
};

let language = pickLanguage();

function pickLanguage() {
  const remembered = window.localStorage.getItem(LANGUAGE_KEY);
  if (LANGUAGES.includes(remembered)) return remembered;
  const preferred = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  for (const tag of preferred) {
    const lower = String(tag || "").toLowerCase();
    if (lower.startsWith("zh")) return "zh-CN";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

// t("status.results", {count: 3, what: "x"}): the reader's words, with {names} filled in.
function t(key, values = {}) {
  const text = STRINGS[language][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

// Fill every element marked data-i18n (text), data-i18n-html (our own markup),
// data-i18n-placeholder, data-i18n-label (aria-label) and data-i18n-alt.
function translatePage() {
  document.documentElement.lang = language;
  document.title = t("page.title");
  document.querySelectorAll("[data-i18n]").forEach((el) => (el.textContent = t(el.dataset.i18n)));
  document.querySelectorAll("[data-i18n-html]").forEach((el) => (el.innerHTML = t(el.dataset.i18nHtml)));
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => (el.placeholder = t(el.dataset.i18nPlaceholder)));
  document.querySelectorAll("[data-i18n-label]").forEach((el) => el.setAttribute("aria-label", t(el.dataset.i18nLabel)));
  document.querySelectorAll("[data-i18n-alt]").forEach((el) => (el.alt = t(el.dataset.i18nAlt)));
  const switcher = document.getElementById("language");
  switcher.textContent = t("lang.switch");
  switcher.setAttribute("aria-label", t("lang.switchLabel"));
  switcher.lang = language === "en" ? "zh-CN" : "en";
  document.dispatchEvent(new CustomEvent("languagechange"));
}

function switchLanguage() {
  language = language === "en" ? "zh-CN" : "en";
  window.localStorage.setItem(LANGUAGE_KEY, language);
  translatePage();
}

// -- the API's answers in the reader's words -------------------------------------
class ApiError extends Error {
  constructor(status, body) {
    super(typeof body.detail === "string" ? body.detail : `HTTP ${status}`);
    this.status = status;
    this.errors = Array.isArray(body.errors) ? body.errors : [];
  }
}

class NetworkError extends Error {}

function fieldName(loc) {
  const name = [...(loc || [])].reverse().find((part) => typeof part === "string" && part !== "body");
  return STRINGS.en[`field.${name}`] ? t(`field.${name}`) : t("field.other");
}

function explainValidation(error) {
  const field = fieldName(error.loc);
  const type = error.type || "";
  const message = error.msg || "";
  if (/bbox/.test(message)) return t("error.bbox");
  if (/after date_to/.test(message)) return t("error.dates");
  if (type === "string_too_long") return t("error.tooLong", { field, max: (error.ctx || {}).max_length ?? "?" });
  if (type === "string_too_short") return t("error.empty", { field });
  if (type === "missing") return t("error.missing", { field });
  if (/^(greater|less)_than/.test(type)) return t("error.range", { field });
  if (/^date/.test(type)) return t("error.date", { field });
  return t("error.invalid", { field });
}

function explainRefusal(detail) {
  if (/bbox/.test(detail)) return t("error.bbox");
  if (/after date_to/.test(detail)) return t("error.dates");
  const dateField = /^(date_from|date_to) must be a date/.exec(detail);
  if (dateField) return t("error.date", { field: t(`field.${dateField[1]}`) });
  if (/give exactly one (image|of)/.test(detail)) return t("form.needImage");
  if (/template must contain/.test(detail)) return t("error.template");
  if (/at least one non-empty/.test(detail)) return t("error.noLines");
  const tooMany = /^at most (\d+)/.exec(detail);
  if (tooMany) return t("error.tooManyLines", { max: tooMany[1] });
  return t("error.refused", { reason: detail });
}

// An error thrown by api() (or by fetch itself) as one sentence in the page's language.
function explainError(error) {
  if (error instanceof NetworkError) return t("error.network");
  if (!(error instanceof ApiError)) {
    console.error(error); // the page's own fault: say so, do not blame the network
    return t("error.page", { message: error.message });
  }
  const detail = error.message;
  switch (error.status) {
    case 400:
      return t("error.damaged");
    case 401:
    case 403:
      return t("error.denied");
    case 404: {
      const id = /image has id (\d+)/.exec(detail);
      return id ? t("error.notFound", { id: id[1] }) : t("error.missingFile");
    }
    case 410:
      return t("error.changed");
    case 413:
      return /pixels/.test(detail) ? t("error.tooManyPixels") : t("error.tooLarge");
    case 415:
      return t("error.format");
    case 422:
      return error.errors.length ? error.errors.map(explainValidation).join(" ") : explainRefusal(detail);
    case 503:
      return t("error.busy");
    default:
      return t("error.server", { status: error.status });
  }
}
