// The panel itself: one card per assignment with its status and actions, rules before
// submitting and the receipt after. Plain DOM: a list of cards needs no framework.
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { listIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import { fill, textsFor } from './texts';

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

export class AssignmentsPanel extends Widget {
  constructor(app, languageCode) {
    super();
    this.app = app;
    this.languageCode = languageCode;
    this.texts = textsFor(languageCode);
    this.settings = ServerConnection.makeSettings();
    this.rules = null;
    this.id = 'aiclass-assignments';
    this.addClass('aiclass-assignments');
    this.title.icon = listIcon;
    this.title.caption = this.texts.title;
    const header = element('div', 'aiclass-assignments-header');
    header.appendChild(element('h2', '', this.texts.title));
    const refresh = element('button', 'jp-Button aiclass-button', this.texts.refresh);
    refresh.addEventListener('click', () => this.refresh());
    header.appendChild(refresh);
    this.list = element('div', 'aiclass-assignments-list');
    this.node.appendChild(header);
    this.node.appendChild(this.list);
  }

  async request(path, method = 'GET') {
    const url = URLExt.join(this.settings.baseUrl, path);
    const response = await ServerConnection.makeRequest(url, { method }, this.settings);
    const data = await response.json();
    if (!response.ok) {
      throw new Error(data.message || response.statusText);
    }
    return data;
  }

  formatTime(iso) {
    return new Date(iso).toLocaleString(this.languageCode);
  }

  // How many assignments are listed (0 on an error).
  async refresh() {
    this.list.replaceChildren(element('p', 'aiclass-state', this.texts.loading));
    let data;
    try {
      data = await this.request('aiclass/assignments');
    } catch (error) {
      this.list.replaceChildren(
        element('p', 'aiclass-state aiclass-error', this.texts.error + error.message)
      );
      return 0;
    }
    this.rules = data.rules;
    if (data.assignments.length === 0) {
      this.list.replaceChildren(element('p', 'aiclass-state', this.texts.empty));
      return 0;
    }
    this.list.replaceChildren(...data.assignments.map(row => this.card(row)));
    return data.assignments.length;
  }

  card(row) {
    const t = this.texts;
    const card = element('section', 'aiclass-card');
    card.dataset.assignment = row.assignment_id;
    const competition = row.kind === 'competition';
    const head = element('div', 'aiclass-card-head');
    head.appendChild(element('h3', '', competition ? row.title : row.assignment_id));
    if (competition) {
      card.classList.add('aiclass-competition');
      head.appendChild(element('span', 'aiclass-kind', t.competition));
    }
    head.appendChild(
      element('span', `aiclass-status aiclass-status-${row.status}`, t.status[row.status])
    );
    card.appendChild(head);
    card.appendChild(
      competition
        ? element('div', 'aiclass-meta aiclass-daily',
          fill(t.competitionMeta, row.entries_today, row.daily_limit))
        : element('div', 'aiclass-meta', `${t.class}: ${row.class_id}`)
    );
    card.appendChild(element('div', 'aiclass-meta aiclass-due', this.dueText(row)));
    const actions = element('div', 'aiclass-actions');
    const message = element('div', 'aiclass-message');
    message.setAttribute('role', 'status');
    const button = (label, run) => {
      const node = element('button', 'jp-Button aiclass-button', label);
      node.addEventListener('click', () => this.act(card, message, run));
      actions.appendChild(node);
    };
    if (row.status === 'not_fetched') {
      button(t.fetch, () => this.fetch(row, message));
    } else {
      button(t.open, () => this.open(row));
      if (!competition) {
        button(t.validate, () => this.validate(row, message));
      }
      button(row.submission_count ? t.resubmit : t.submit, () => this.submit(row, message));
    }
    if (row.feedback_ready) {
      button(t.feedback, () => this.feedback(row));
    }
    card.appendChild(actions);
    card.appendChild(message);
    if (row.receipt) {
      card.appendChild(this.receiptNode(row.receipt));
    }
    return card;
  }

  dueText(row) {
    const t = this.texts;
    if (!row.due_at) {
      return t.noDue;
    }
    let text = `${t.due}: ${this.formatTime(row.due_at)}`;
    if (new Date(row.due_at) < new Date()) {
      text += t.overdue;
    }
    if (row.extended && row.release_due_at) {
      text += fill(t.extended, this.formatTime(row.release_due_at));
    }
    return text;
  }

  async act(card, message, run) {
    const buttons = card.querySelectorAll('button');
    buttons.forEach(b => (b.disabled = true));
    message.className = 'aiclass-message';
    message.textContent = this.texts.working;
    try {
      await run();
      if (message.textContent === this.texts.working) {
        message.textContent = '';
      }
    } catch (error) {
      message.className = 'aiclass-message aiclass-error';
      message.textContent = error.message;
    } finally {
      buttons.forEach(b => (b.disabled = false));
    }
  }

  base(row, action) {
    const id = `${encodeURIComponent(row.class_id)}/${encodeURIComponent(row.assignment_id)}`;
    return `aiclass/assignments/${id}/${action}`;
  }

  async fetch(row, message) {
    await this.request(this.base(row, 'fetch'), 'POST');
    await this.refresh();
    const card = this.list.querySelector(`[data-assignment="${row.assignment_id}"]`);
    if (card) {
      card.querySelector('.aiclass-message').textContent = this.texts.fetched;
    }
  }

  async open(row) {
    for (const path of row.notebooks) {
      await this.app.commands.execute('docmanager:open', { path });
    }
  }

  async validate(row, message) {
    const t = this.texts;
    const url = URLExt.join(this.settings.baseUrl, 'assignments/validate');
    const results = [];
    for (const path of row.notebooks) {
      const response = await ServerConnection.makeRequest(
        url,
        { method: 'POST', body: JSON.stringify({ path }) },
        this.settings
      );
      const data = await response.json();
      const value = data.value || {};
      if (!data.success || typeof value === 'string') {
        // nbgrader could not validate at all (its message is a traceback): say so, briefly.
        const lines = String(data.value || response.statusText).trim().split('\n');
        throw new Error(fill(t.validError, path, lines[lines.length - 1]));
      }
      const problems = ['failed', 'changed', 'type_changed'].some(
        key => (value[key] || []).length > 0
      );
      results.push({ path, problems });
    }
    const bad = results.filter(r => r.problems).map(r => r.path);
    message.className = bad.length ? 'aiclass-message aiclass-error' : 'aiclass-message';
    message.textContent = bad.length
      ? fill(t.validBad, bad.join(', '))
      : fill(t.validOk, results.map(r => r.path).join(', '));
  }

  rulesNode(row) {
    const t = this.texts;
    const rules = this.rules || {};
    const list = element('ul', 'aiclass-rules');
    const item = text => list.appendChild(element('li', '', text));
    if (row.kind === 'competition') {
      item(fill(t.rulesCompetition, row.notebooks.join(', ')));
      item(fill(t.rulesDaily, row.daily_limit, row.entries_today, this.formatTime(row.due_at)));
      return list;
    }
    item(row.due_at ? fill(t.rulesDue, this.formatTime(row.due_at)) : t.rulesNoDue);
    item(fill(t.rulesLate, rules.grace_minutes, rules.late_percent_per_day,
      rules.late_cap_percent));
    item(t.rulesExtension);
    item(fill(t.rulesResubmit, rules.max_submissions, rules.submissions_per_minute));
    if (row.submission_count) {
      item(fill(t.rulesCount, row.submission_count));
    }
    return list;
  }

  async submit(row, message) {
    const t = this.texts;
    const body = new Widget({ node: this.rulesNode(row) });
    const answer = await showDialog({
      title: t.rulesTitle,
      body,
      buttons: [Dialog.cancelButton({ label: t.cancel }), Dialog.okButton({ label: t.confirm })]
    });
    if (!answer.button.accept) {
      message.textContent = '';
      return;
    }
    const data = await this.request(this.base(row, 'submit'), 'POST');
    await this.refresh();
    const card = this.list.querySelector(`[data-assignment="${row.assignment_id}"]`);
    if (card && data.entry) {
      card.querySelector('.aiclass-message').textContent = t.enteredOk;
    } else if (card) {
      card.querySelector('.aiclass-message').textContent = t.submittedOk;
      card.querySelector('.aiclass-receipt').replaceWith(this.receiptNode(data.receipt));
    }
  }

  async feedback(row) {
    const data = await this.request(this.base(row, 'feedback'), 'POST');
    for (const path of data.feedback) {
      await this.app.commands.execute('docmanager:open', { path, factory: 'HTML Viewer' });
    }
  }

  receiptNode(receipt) {
    const t = this.texts;
    const node = element('div', 'aiclass-receipt');
    node.appendChild(element('h4', '', t.receipt));
    const lines = element('dl', '');
    const line = (label, value) => {
      lines.appendChild(element('dt', '', label));
      lines.appendChild(element('dd', '', value));
    };
    line(
      t.receiptTime,
      `${this.formatTime(receipt.submitted_at)} (${receipt.late ? t.receiptLate : t.receiptOnTime})`
    );
    line(t.receiptChecksum, receipt.checksum);
    node.appendChild(lines);
    node.appendChild(element('div', 'aiclass-meta', t.receiptFiles));
    const files = element('ul', 'aiclass-files');
    for (const file of receipt.files) {
      files.appendChild(
        element('li', '', `${file.path} · ${file.size} B · sha256 ${file.sha256.slice(0, 12)}…`)
      );
    }
    node.appendChild(files);
    node.appendChild(element('p', 'aiclass-meta', t.receiptHint));
    return node;
  }
}
