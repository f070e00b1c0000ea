// The demo page: a websocket feed of `my.custom.event`, a form that
// broadcasts one, and an upload form that shows what the server parsed.
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
document.getElementById('upload').addEventListener('submit', async (event) => {
  event.preventDefault();
  const answer = await fetch('/upload', { method: 'POST', body: new FormData(event.target) });
  document.getElementById('uploaded').textContent =
    JSON.stringify(await answer.json(), null, 2);
});
