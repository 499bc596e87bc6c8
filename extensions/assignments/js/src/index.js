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
    app.restored.then(() => {
      labShell.activateById(panel.id);
      panel.refresh();
    });
  }
};

export default plugin;
