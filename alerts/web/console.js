// cxpulse supervisor console: plain JavaScript, no build step, no dependencies.
// The server does the filtering and sorting (alerts/cards.py); this page shows what it is
// sent over server-sent events (read with fetch, so that a bearer token can be sent) and
// turns clicks into the console's API calls. Every value from the server is set as text.
"use strict";

(() => {
  const TOKEN_KEY = "cxpulse-console-token";
  const FACETS = ["receiver", "severity", "segment", "service_type", "state"];
  const FIXED_ORDER = {
    severity: ["critical", "warning", "info"],
    state: ["open", "pending", "acknowledged", "silenced", "inhibited"],
    segment: ["vip", "key", "vulnerable", "standard", "none"],
  };
  const RULES = {
    repeat_contact: "Repeat contact", sensitive_customer: "Became sensitive", sensitive_contact: "Sensitive customer again",
    detractor: "Dissatisfied", sla_breach: "SLA breach", churn_risk: "Churn risk", incident: "Incident",
  };
  const STATES = {
    open: "needs someone", pending: "not in Alertmanager yet", acknowledged: "acknowledged",
    silenced: "silenced", inhibited: "explained by an incident",
  };
  const SEGMENTS = { vip: "VIP", key: "key account", vulnerable: "vulnerable", standard: "standard", none: "no customer" };
  const BANDS = { healthy: "healthy", at_risk: "at risk", critical: "critical" };

  const $ = (id) => document.getElementById(id);
  const board = { cards: new Map(), order: [], facets: {}, status: null, matched: 0, total: 0, received: false };
  const nodes = new Map(); // card key -> [version, element]
  const filters = Object.fromEntries(FACETS.map((f) => [f, new Set()]));
  let text = "";
  let token = sessionStorage.getItem(TOKEN_KEY) || "";
  let controller = null;
  let retry = 1;
  let retryTimer = null;
  let silencing = null;

  // --- small helpers ------------------------------------------------------------------

  function el(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined && content !== null) node.textContent = String(content);
    return node;
  }

  function headers(json) {
    const h = {};
    if (token) h.Authorization = `Bearer ${token}`;
    if (json) h["Content-Type"] = "application/json";
    return h;
  }

  async function call(method, path, body) {
    const response = await fetch(path, { method, headers: headers(true), body: JSON.stringify(body || {}) });
    const data = await response.json().catch(() => ({}));
    if (response.status === 401) askToken("The token was refused.");
    if (!response.ok) throw new Error(data.detail || `the console answered ${response.status}`);
    return data;
  }

  function toast(message, bad) {
    const node = $("toast");
    node.textContent = message;
    node.className = bad ? "toast bad" : "toast";
    node.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { node.hidden = true; }, 4000);
  }

  function banner(message, bad) {
    const node = $("banner");
    node.hidden = !message;
    node.textContent = message || "";
    node.className = bad ? "banner bad" : "banner";
  }

  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    const today = new Date().toDateString() === d.toDateString();
    const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return today ? time : `${d.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
  }

  function age(iso) {
    const ms = Date.now() - new Date(iso).getTime();
    if (!iso || Number.isNaN(ms)) return "";
    const minutes = Math.floor(ms / 60000);
    if (minutes < 1) return "just now";
    if (minutes < 60) return `${minutes} min`;
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return `${hours} h ${minutes % 60} min`;
    return `${Math.floor(hours / 24)} days`;
  }

  function score(value, band) {
    if (typeof value !== "number") return null;
    const node = el("span", `score band-${band || ""}`, `${(Math.floor(value * 10) / 10).toFixed(1)} · ${BANDS[band] || band || ""}`);
    node.title = "experience score (0-100) and risk band";
    return node;
  }

  // --- filters --------------------------------------------------------------------------

  function query() {
    const params = new URLSearchParams();
    for (const facet of FACETS) for (const value of filters[facet]) params.append(facet, value);
    if (text) params.set("q", text);
    return params.toString();
  }

  function readQuery() {
    const params = new URLSearchParams(location.search);
    for (const facet of FACETS) for (const value of params.getAll(facet)) filters[facet].add(value);
    text = params.get("q") || "";
    $("q").value = text;
  }

  function filtersChanged() {
    history.replaceState(null, "", `${location.pathname}${query() ? "?" + query() : ""}${location.hash}`);
    connect();
  }

  function renderFacets() {
    for (const box of document.querySelectorAll(".facet")) {
      const facet = box.dataset.facet;
      const counts = board.facets[facet] || {};
      const values = new Set([...Object.keys(counts), ...filters[facet]]);
      const order = FIXED_ORDER[facet] || [];
      const sorted = [...values].sort((a, b) => {
        const ia = order.indexOf(a), ib = order.indexOf(b);
        if (ia !== -1 || ib !== -1) return (ia === -1 ? 99 : ia) - (ib === -1 ? 99 : ib);
        return a.localeCompare(b);
      });
      const chips = box.querySelector(".chips");
      chips.replaceChildren(...sorted.map((value) => {
        const label = facet === "segment" ? SEGMENTS[value] || value : facet === "state" ? STATES[value] || value : value;
        const chip = el("button", "chip", label);
        chip.type = "button";
        chip.dataset.value = value;
        chip.setAttribute("aria-pressed", filters[facet].has(value) ? "true" : "false");
        chip.append(el("span", "count", counts[value] || 0));
        chip.addEventListener("click", () => {
          if (filters[facet].has(value)) filters[facet].delete(value); else filters[facet].add(value);
          filtersChanged();
        });
        return chip;
      }));
    }
    const any = FACETS.some((f) => filters[f].size) || text;
    $("clear-filters").hidden = !any;
  }

  // --- the stream -----------------------------------------------------------------------

  async function connect() {
    if (controller) controller.abort();
    clearTimeout(retryTimer);
    const mine = (controller = new AbortController());
    board.received = false;
    try {
      const response = await fetch(`/api/stream?${query()}`, { headers: headers(false), signal: mine.signal });
      if (response.status === 401 || response.status === 403) {
        askToken(response.status === 403 ? "This token may not use the console." : "");
        return;
      }
      if (!response.ok) {
        const data = await response.json().catch(() => ({}));
        throw new Error(data.detail || `the console answered ${response.status}`);
      }
      retry = 1;
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          handle(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
      throw new Error("the server ended the stream");
    } catch (error) {
      if (mine.signal.aborted) return;
      banner(`Lost the connection to the console server (${error.message}). Retrying in ${retry} s…`, true);
      document.body.classList.add("offline");
      retryTimer = setTimeout(connect, retry * 1000);
      retry = Math.min(retry * 2, 30);
    }
  }

  function handle(block) {
    let event = "message";
    let data = "";
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data += line.slice(5).trim();
    }
    if (event !== "board" || !data) return;
    const message = JSON.parse(data);
    if (message.reset) board.cards.clear();
    for (const card of message.cards) board.cards.set(card.key, card);
    for (const key of message.removed) board.cards.delete(key);
    Object.assign(board, { order: message.order, facets: message.facets, status: message.status,
      matched: message.matched, total: message.total, received: true });
    document.body.classList.remove("offline");
    render();
  }

  // --- rendering ------------------------------------------------------------------------

  function render() {
    renderStatus();
    renderFacets();
    const container = $("cards");
    const keep = new Set(board.order);
    for (const [key, [, node]] of nodes) if (!keep.has(key)) { node.remove(); nodes.delete(key); }
    let previous = null;
    for (const key of board.order) {
      const card = board.cards.get(key);
      if (!card) continue;
      let entry = nodes.get(key);
      if (!entry || entry[0] !== card.version) {
        const node = cardNode(card, true);
        if (entry) entry[1].replaceWith(node); else node.classList.add("fresh");
        entry = [card.version, node];
        nodes.set(key, entry);
      }
      const node = entry[1];
      const wanted = previous ? previous.nextSibling : container.firstChild;
      if (wanted !== node) container.insertBefore(node, wanted);
      previous = node;
    }
    const status = board.status || { kafka: {} };
    const loading = !board.received || (["connecting", "loading"].includes(status.kafka.kafka) && !board.order.length);
    $("loading").hidden = !loading;
    const empty = !loading && !board.order.length;
    $("empty").hidden = !empty;
    if (empty) {
      const filtered = board.total > 0;
      $("empty-title").textContent = filtered ? "No card matches these filters." : "No customer is at risk right now.";
      $("empty-detail").textContent = filtered
        ? `${board.total} card(s) are hidden by the filters.` : "New alerts appear here within seconds.";
    }
    const hidden = board.matched - board.order.length;
    $("more").hidden = hidden <= 0;
    $("more").textContent = `${hidden} more card(s) match; narrow the filters to see them.`;
  }

  function renderStatus() {
    const status = board.status;
    if (!status) return;
    const kafka = status.kafka;
    const pillKafka = $("status-kafka");
    pillKafka.className = `pill ${kafka.kafka === "live" ? "ok" : kafka.kafka === "unreachable" ? "bad" : "busy"}`;
    pillKafka.textContent = `Kafka ${kafka.kafka}`;
    pillKafka.title = kafka.detail || `reading ${status.topics.alerts} and ${status.topics.warnings}`;
    const am = status.alertmanager;
    const pillAm = $("status-am");
    pillAm.className = `pill ${am.state === "ok" ? "ok" : am.state === "unreachable" ? "bad" : "busy"}`;
    pillAm.textContent = `Alertmanager ${am.state === "ok" ? "ok" : am.state}`;
    pillAm.title = am.detail || am.url;
    const problems = [];
    if (kafka.kafka === "unreachable") problems.push(`Kafka is unreachable: ${kafka.detail}. The queue may be out of date.`);
    if (am.state === "unreachable") problems.push(`Alertmanager is unreachable (${am.detail}): acknowledging and silencing cannot work now.`);
    if (kafka.missing_topics && kafka.missing_topics.length) problems.push(`Topic ${kafka.missing_topics.join(", ")} does not exist yet: its records will appear once it does.`);
    if (!document.body.classList.contains("offline")) banner(problems.join(" "), kafka.kafka === "unreachable" || am.state === "unreachable");
    const counts = board.facets.severity || {};
    const states = board.facets.state || {};
    const waiting = (states.open || 0) + (states.pending || 0);
    const summary = $("summary");
    summary.replaceChildren();
    if (!board.received) { summary.textContent = "Loading…"; return; }
    summary.append(el("strong", "", board.total), ` card${board.total === 1 ? "" : "s"} · `,
      el("strong", "crit", counts.critical || 0), " critical · ", el("strong", "", waiting), " need someone");
  }

  function cardNode(card, withTimelineLink) {
    const handled = ["acknowledged", "silenced", "inhibited"].includes(card.state);
    const node = el("article", `card sev-${card.severity} state-${card.state}${handled ? " handled" : ""}`);
    node.dataset.key = card.key;
    node.dataset.severity = card.severity;

    const head = el("div", "card-head");
    head.append(el("span", "sev", card.severity.toUpperCase()));
    const title = el("h2", "cid");
    if (card.kind === "customer" && withTimelineLink) {
      const link = el("a", "", card.customer_id);
      link.href = `#/customer/${encodeURIComponent(card.customer_id)}`;
      link.title = "Open the customer's timeline";
      title.append(link);
    } else {
      title.textContent = card.kind === "incident" ? `Incident: ${card.service_types.join(", ")}` : card.customer_id;
    }
    head.append(title);
    if (card.segment && card.segment !== "standard") {
      head.append(el("span", `seg${card.priority_lane ? " priority" : ""}`,
        `${SEGMENTS[card.segment] || card.segment}${card.priority_lane ? " · priority lane" : ""}`));
    }
    node.append(head);

    const meta = el("div", "meta");
    const s = score(card.score, card.risk_band);
    if (s) meta.append(s);
    if (card.since) {
      const since = el("span", "age", `open ${age(card.since)}`);
      since.dataset.since = card.since;
      since.title = `since ${new Date(card.since).toLocaleString()}`;
      meta.append(since);
    }
    meta.append(el("span", "services", card.service_types.join(", ")));
    node.append(meta);

    for (const warning of card.warnings.slice(0, 1)) {
      const now = el("div", "now");
      now.append(el("strong", "", "Contacting now: "), warning.summary || `about ${warning.service_type}`);
      now.title = `agent warning ${warning.warning_id || ""} at ${when(warning.emitted_at)}`;
      node.append(now);
    }

    const reasons = el("ul", "reasons");
    for (const alert of card.alerts) {
      const item = el("li", `reason ${alert.severity}`);
      item.dataset.rule = alert.rule;
      item.append(el("span", "dot"), el("span", "rule", RULES[alert.rule] || alert.rule),
        el("span", "when", when(alert.triggered_at)), el("span", "text", alert.summary));
      const am = alert.alertmanager;
      if (am && (am.silences.length || am.inhibited)) {
        const by = am.silences.map((x) => `${x.acknowledgement ? "acknowledged" : "silenced"} by ${x.created_by} until ${when(x.ends_at)}`);
        if (am.inhibited) by.push("muted by an incident on this service");
        item.append(el("span", "muted-by", by.join("; ")));
      }
      reasons.append(item);
    }
    if (card.alerts.length) node.append(reasons);

    const foot = el("div", "card-foot");
    foot.append(el("span", "receivers", card.receivers.length ? `→ ${card.receivers.join(", ")}` : "→ not routed yet"));
    foot.append(el("span", `state ${card.state}`, STATES[card.state] || card.state));
    const actions = el("div", "actions");
    if (card.kind === "customer" && withTimelineLink) {
      const open = el("button", "open-timeline", "Timeline");
      open.type = "button";
      open.addEventListener("click", () => { location.hash = `#/customer/${encodeURIComponent(card.customer_id)}`; });
      actions.append(open);
    }
    const silenceIds = [...new Set(card.alerts.flatMap((a) => (a.alertmanager ? a.alertmanager.silences.map((x) => x.id) : [])))];
    if (card.state === "acknowledged" || card.state === "silenced") {
      const lift = el("button", "lift", "Lift");
      lift.type = "button";
      lift.title = "Expire the silences on this card in Alertmanager";
      lift.addEventListener("click", () => liftSilences(card, silenceIds, lift));
      actions.append(lift);
    } else if (card.alerts.length) {
      const ack = el("button", "acknowledge primary", "Acknowledge");
      ack.type = "button";
      ack.title = "Silence this card's open alerts in Alertmanager (a new alert brings the card back)";
      ack.addEventListener("click", () => acknowledge(card, ack));
      const mute = el("button", "silence", "Silence…");
      mute.type = "button";
      mute.title = "Silence every alert of this card, new ones too, for a while";
      mute.addEventListener("click", () => openSilence(card));
      actions.append(ack, mute);
    }
    foot.append(actions);
    node.append(foot);
    return node;
  }

  // --- actions --------------------------------------------------------------------------

  async function acknowledge(card, button) {
    button.disabled = true;
    try {
      const done = await call("POST", `/api/cards/${encodeURIComponent(card.key)}/acknowledge`, {});
      toast(`Acknowledged ${card.customer_id || card.key} until ${when(done.ends_at)} (Alertmanager silence ${done.silence_id.slice(0, 8)})`);
    } catch (error) {
      toast(`Could not acknowledge: ${error.message}`, true);
      button.disabled = false;
    }
  }

  function openSilence(card) {
    silencing = card;
    $("silence-who").textContent = card.customer_id || card.key;
    $("silence-note").value = "";
    $("silence-dialog").showModal();
  }

  async function submitSilence() {
    const card = silencing;
    if (!card) return;
    const seconds = Number($("silence-seconds").value);
    try {
      const done = await call("POST", `/api/cards/${encodeURIComponent(card.key)}/silence`,
        { seconds, note: $("silence-note").value });
      toast(`Silenced ${card.customer_id || card.key} until ${when(done.ends_at)}`);
    } catch (error) {
      toast(`Could not silence: ${error.message}`, true);
    }
  }

  async function liftSilences(card, ids, button) {
    const silences = card.alerts.flatMap((a) => (a.alertmanager ? a.alertmanager.silences : []));
    const wide = silences.filter((x) => !x.matchers.some((m) => m.startsWith("customer_id=") || m.startsWith("service_type=")));
    if (wide.length && !confirm(`This silence also mutes other alerts (${wide[0].matchers.join(", ")}). Lift it?`)) return;
    button.disabled = true;
    try {
      for (const id of ids) await call("DELETE", `/api/silences/${encodeURIComponent(id)}`);
      toast(`Lifted ${ids.length} silence(s) on ${card.customer_id || card.key}`);
    } catch (error) {
      toast(`Could not lift: ${error.message}`, true);
      button.disabled = false;
    }
  }

  function askToken(message) {
    $("token-error").hidden = !message;
    $("token-error").textContent = message || "";
    if (!$("token-dialog").open) $("token-dialog").showModal();
  }

  // --- the customer view ----------------------------------------------------------------

  function route() {
    const match = location.hash.match(/^#\/customer\/(.+)$/);
    $("queue-view").hidden = Boolean(match);
    $("customer-view").hidden = !match;
    if (match) showCustomer(decodeURIComponent(match[1]));
    else document.title = "cxpulse · supervisor console";
  }

  async function showCustomer(id) {
    const box = $("customer");
    document.title = `${id} · cxpulse`;
    box.replaceChildren(el("h1", "", id), el("div", "loading", "Replaying the customer's history from Kafka…"));
    let data;
    try {
      const response = await fetch(`/api/customers/${encodeURIComponent(id)}/timeline`, { headers: headers(false) });
      data = await response.json();
      if (response.status === 401) { askToken(""); return; }
      if (!response.ok) throw new Error(data.detail || `the console answered ${response.status}`);
    } catch (error) {
      box.replaceChildren(el("h1", "", id), el("p", "error", `Could not read the timeline: ${error.message}`));
      return;
    }
    if (location.hash !== `#/customer/${encodeURIComponent(id)}`) return; // navigated away meanwhile
    box.replaceChildren(...customerView(id, data));
  }

  function customerView(id, data) {
    const parts = [el("h1", "", id)];
    const facts = el("div", "facts");
    const final = data.final;
    if (final) {
      const s = score(final.score, final.risk_band);
      if (s) facts.append(s);
      if (final.sensitive) facts.append(el("span", "flag", "sensitive"));
      facts.append(el("span", "", `${final.open_tickets} open ticket(s)`), el("span", "", `${final.events_seen} events`),
        el("span", "", `last event ${when(final.updated_at)}`));
    } else {
      facts.append(el("span", "", "No events of this customer in the events topic."));
    }
    facts.append(el("span", "mono", `from ${data.source}`));
    parts.push(facts);
    if (data.card) {
      parts.push(el("h2", "", "Open alerts"), cardNode(data.card, false));
    }
    parts.push(el("h2", "", `Timeline (${data.rows.length} rows)`));
    const panel = el("div", "panel");
    const table = el("table", "timeline");
    const head = el("tr");
    for (const name of ["time", "event", "channel", "service", "details", "signals", "score", "band", "alerts"]) head.append(el("th", "", name));
    const thead = el("thead");
    thead.append(head);
    const tbody = el("tbody");
    for (const row of data.rows) tbody.append(timelineRow(row));
    table.append(thead, tbody);
    panel.append(table);
    parts.push(panel);
    return parts;
  }

  function timelineRow(row) {
    const tr = el("tr", `kind-${row.kind}${row.alerts.length ? " has-alert" : ""}`);
    const event = row.event || {};
    let what = row.what || row.kind;
    let details = row.details || "";
    if (row.kind === "clock") { what = "stream clock"; details = "an open ticket passed its due time"; }
    if (row.kind === "invalid") { what = "invalid record"; details = row.reason || ""; }
    if (row.kind === "duplicate") details = `duplicate of an earlier event_id (${event.event_id}): ignored`;
    const time = el("td", "", when(row.at));
    time.title = row.at;
    const alerts = el("td");
    for (const alert of row.alerts) {
      const tag = el("span", `alert-tag ${alert.severity}`, `${RULES[alert.rule] || alert.rule}${alert.status === "resolved" ? " (resolved)" : ""}`);
      tag.title = alert.summary;
      alerts.append(tag);
    }
    tr.append(time, el("td", "", what), el("td", "", event.channel || ""), el("td", "", event.service_type || ""),
      el("td", "", details), el("td", "signals", (row.signals || []).join(", ")),
      el("td", "num", typeof row.score === "number" ? (Math.floor(row.score * 10) / 10).toFixed(1) : ""),
      el("td", `band-${row.risk_band || ""}`, BANDS[row.risk_band] || row.risk_band || ""), alerts);
    return tr;
  }

  // --- start ----------------------------------------------------------------------------

  function start() {
    readQuery();
    $("q").addEventListener("input", () => {
      clearTimeout(start.typing);
      start.typing = setTimeout(() => { text = $("q").value.trim(); filtersChanged(); }, 250);
    });
    $("clear-filters").addEventListener("click", () => {
      for (const facet of FACETS) filters[facet].clear();
      text = "";
      $("q").value = "";
      filtersChanged();
    });
    $("back").addEventListener("click", (event) => { event.preventDefault(); location.hash = ""; });
    $("token-form").addEventListener("submit", () => {
      token = $("token").value.trim();
      sessionStorage.setItem(TOKEN_KEY, token);
      connect();
      route();
    });
    $("silence-form").addEventListener("submit", submitSilence);
    $("silence-cancel").addEventListener("click", () => $("silence-dialog").close());
    window.addEventListener("hashchange", route);
    setInterval(() => {
      for (const node of document.querySelectorAll(".age[data-since]")) node.textContent = `open ${age(node.dataset.since)}`;
    }, 20000);
    route();
    connect();
  }

  start();
})();
