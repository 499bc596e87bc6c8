// The panel's words, Chinese first; English when the lab's language is English.
const TEXTS = {
  zh: {
    title: '我的作业',
    refresh: '刷新',
    loading: '正在加载作业…',
    empty: '还没有发布给你的作业。',
    error: '无法加载作业：',
    class: '班级',
    due: '截止',
    noDue: '没有截止时间',
    overdue: '（已截止）',
    extended: '（老师已为你延期，原截止 {0}）',
    status: {
      not_fetched: '未获取',
      in_progress: '进行中',
      submitted: '已提交',
      graded: '已评分'
    },
    fetch: '获取',
    open: '打开',
    validate: '检查',
    submit: '提交',
    resubmit: '重新提交',
    feedback: '查看反馈',
    working: '请稍候…',
    fetched: '已获取，可以打开作业了。',
    validOk: '检查通过：{0}',
    validBad: '检查发现问题：{0}',
    validError: '无法检查 {0}：{1}',
    rulesTitle: '提交前请阅读',
    rulesLate:
      '截止时间后 {0} 分钟内提交仍算按时；之后每迟交一天（不足一天按一天计）扣 {1}%，最多扣 {2}%。',
    rulesNoDue: '这份作业没有截止时间。',
    rulesDue: '你的截止时间：{0}。',
    rulesExtension:
      '需要更多时间请在截止前联系老师：老师给你延期后，这里会显示新的截止时间，迟交按新的时间计算。',
    rulesResubmit:
      '可以重新提交：老师默认批改你最后一次提交（最多保留 {0} 次，每分钟最多 {1} 次）。',
    rulesCount: '你已经提交过 {0} 次。',
    confirm: '确认提交',
    cancel: '取消',
    receipt: '提交回执',
    receiptTime: '提交时间',
    receiptFiles: '文件',
    receiptChecksum: '校验码',
    receiptLate: '迟交',
    receiptOnTime: '按时',
    receiptHint: '可以把回执给老师看，校验码证明你提交的文件内容。',
    submittedOk: '提交成功！',
    competition: '比赛',
    competitionMeta: '活动与赛事 · 今天已提交 {0}/{1} 次',
    rulesCompetition:
      '提交的是文件夹中的 {0}：它会在沙箱中用比赛的文件运行，写出的 predictions.csv 用隐藏的测试集评分，成绩显示在排行榜上。',
    rulesDaily: '每天最多提交 {0} 次，你今天已提交 {1} 次；截止 {2}。',
    enteredOk: '已提交，正在评分：成绩出来后会显示在排行榜上。'
  },
  en: {
    title: 'My assignments',
    refresh: 'Refresh',
    loading: 'Loading assignments…',
    empty: 'No assignments have been released to you yet.',
    error: 'Could not load assignments: ',
    class: 'Class',
    due: 'Due',
    noDue: 'No due date',
    overdue: ' (past due)',
    extended: ' (extended by your teacher; was {0})',
    status: {
      not_fetched: 'Not fetched',
      in_progress: 'In progress',
      submitted: 'Submitted',
      graded: 'Graded'
    },
    fetch: 'Fetch',
    open: 'Open',
    validate: 'Validate',
    submit: 'Submit',
    resubmit: 'Submit again',
    feedback: 'Feedback',
    working: 'Please wait…',
    fetched: 'Fetched: you can open the assignment now.',
    validOk: 'Validation passed: {0}',
    validBad: 'Validation found problems: {0}',
    validError: 'Could not validate {0}: {1}',
    rulesTitle: 'Before you submit',
    rulesLate:
      'Up to {0} minutes after the due date still counts as on time; after that {1}% is taken off per day late (a started day counts), at most {2}%.',
    rulesNoDue: 'This assignment has no due date.',
    rulesDue: 'Your due date: {0}.',
    rulesExtension:
      'If you need more time, ask your teacher before the due date: an extension shows here as your new due date, and lateness counts from it.',
    rulesResubmit:
      'You may submit again: your teacher grades your latest submission (at most {0} are kept, at most {1} a minute).',
    rulesCount: 'You have submitted {0} time(s).',
    confirm: 'Submit',
    cancel: 'Cancel',
    receipt: 'Submission receipt',
    receiptTime: 'Submitted at',
    receiptFiles: 'Files',
    receiptChecksum: 'Checksum',
    receiptLate: 'late',
    receiptOnTime: 'on time',
    receiptHint: 'Show this receipt to your teacher: the checksum proves what you submitted.',
    submittedOk: 'Submitted!',
    competition: 'Competition',
    competitionMeta: 'Activities and competitions · {0} of {1} entries used today',
    rulesCompetition:
      'Your {0} is handed in: it runs in a sandbox with the competition\'s files, and the predictions.csv it writes is scored against the hidden test set; the score shows on the leaderboard.',
    rulesDaily: 'At most {0} entries a day; you have made {1} today. Deadline: {2}.',
    enteredOk: 'Handed in and being scored: the score will show on the leaderboard.'
  }
};

export function textsFor(languageCode) {
  const code = (languageCode || 'zh').toLowerCase();
  return code.startsWith('en') ? TEXTS.en : TEXTS.zh;
}

export function fill(template, ...values) {
  return values.reduce((text, value, i) => text.split(`{${i}}`).join(String(value)), template);
}
