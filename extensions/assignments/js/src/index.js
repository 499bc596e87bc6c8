// 我的作业: the student's assignments panel, opened with the lab in the left sidebar.
import { ILabShell } from '@jupyterlab/application';
import { ITranslator } from '@jupyterlab/translation';
import { AssignmentsPanel } from './panel';

const plugin = {
  id: '@aiclass/assignments:plugin',
  description: '我的作业 / My assignments',
  autoStart: true,
  requires: [ILabShell],
  optional: [ITranslator],
  activate: (app, labShell, translator) => {
    const language = translator ? translator.languageCode : 'zh-CN';
    const panel = new AssignmentsPanel(app, language);
    labShell.add(panel, 'left', { rank: 0 });
    app.commands.addCommand('aiclass-assignments:open', {
      label: panel.title.caption,
      execute: () => labShell.activateById(panel.id)
    });
    // Opens by itself when there is homework: a teacher's lab (no assignments of their own)
    // keeps the file browser in front.
    app.restored.then(async () => {
      if ((await panel.refresh()) > 0) {
        labShell.activateById(panel.id);
      }
    });
  }
};

export default plugin;
