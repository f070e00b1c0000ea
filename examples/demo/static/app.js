// The demo page: a websocket feed of `my.custom.event`, a form that
// broadcasts one, the live task tree of every worker (from /admin/tasks,
// with buttons that add, cancel and purge tasks), and an upload form that
// shows what the server parsed.
const list = document.getElementById('messages');
const status = document.getElementById('status');
const ws = new WebSocket(`ws://${location.host}/feed`);
ws.onopen = () => { status.textContent = 'connected to /feed'; };
ws.onclose = () => { status.textContent = 'disconnected'; };
ws.onmessage = (event) => {
  const item = document.createElement('li');
  item.textContent = event.data;
  list.appendChild(item);
};
document.getElementById('notify').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = document.getElementById('message');
  await fetch('/notify', { method: 'POST', body: input.value });
  input.value = '';
});

// The task tree: /admin/tasks wants the bearer token when the server has one.
const tree = document.getElementById('tree');
const token = document.getElementById('admin-token');
async function refreshTasks() {
  const headers = token.value ? { Authorization: `Bearer ${token.value}` } : {};
  const answer = await fetch('/admin/tasks', { headers });
  if (!answer.ok) {
    tree.textContent = answer.status === 401
      ? 'the task tree needs the admin token'
      : `/admin/tasks answered ${answer.status}`;
    return;
  }
  const dump = await answer.json();
  tree.replaceChildren();
  for (const worker of dump.workers) {
    const head = document.createElement('div');
    head.className = 'worker';
    head.textContent = `worker ${worker.worker}`;
    tree.appendChild(head);
    const ids = new Set(worker.tasks.map(t => t.id));
    const add = (task, depth) => {
      const row = document.createElement('div');
      row.className = 'task';
      row.dataset.name = task.name || '';
      row.style.paddingLeft = `${depth}rem`;
      row.textContent = `${task.name || '<unnamed>'} [${task.state}] polls=${task.polls} ` +
        `restarts=${task.restarts}` + (task.last_failure ? ` last failure: ${task.last_failure}` : '');
      if (task.name && task.state !== 'finished') {
        const cancel = document.createElement('button');
        cancel.textContent = 'cancel';
        cancel.onclick = () => fetch(`/tasks/${encodeURIComponent(task.name)}`, { method: 'DELETE' }).then(refreshTasks);
        row.appendChild(cancel);
      }
      tree.appendChild(row);
      for (const child of worker.tasks.filter(t => t.parent === task.id)) add(child, depth + 1);
    };
    for (const task of worker.tasks.filter(t => t.parent === null || !ids.has(t.parent))) add(task, 1);
  }
}
document.getElementById('add-task').addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = encodeURIComponent(document.getElementById('task-name').value);
  const seconds = document.getElementById('task-seconds').value;
  const fail = document.getElementById('task-fail').checked ? '&fail=1' : '';
  const restart = document.getElementById('task-restart').value;
  await fetch(`/tasks/${name}?seconds=${seconds}${fail}&restart=${restart}`, { method: 'POST' });
  refreshTasks();
});
document.getElementById('purge').addEventListener('click', async () => {
  await fetch('/tasks/purge', { method: 'POST' });
  refreshTasks();
});
token.addEventListener('change', refreshTasks);
refreshTasks();
setInterval(refreshTasks, 1000);

document.getElementById('upload').addEventListener('submit', async (event) => {
  event.preventDefault();
  const answer = await fetch('/upload', { method: 'POST', body: new FormData(event.target) });
  document.getElementById('uploaded').textContent =
    JSON.stringify(await answer.json(), null, 2);
});
