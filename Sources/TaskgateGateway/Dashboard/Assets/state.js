// The page's shared state: the token, what it may do, the queues shown and the open views.

export const TOKEN_KEY = 'taskgate.token';
export const STATES = ['pending', 'scheduled', 'retrying', 'active', 'dead'];
export const FINAL = new Set(['succeeded', 'dead', 'cancelled']);

export const page = {
  token: sessionStorage.getItem(TOKEN_KEY),
  tokensRequired: false,
  admin: false,
  queues: new Map(), // name -> summary as GET /queues gives it, with local changes applied
  order: [], // queue names in table order
  queueLimit: 100, // how many queues the table shows: a page, and a page more for each "More queues"
  nextCursor: null,
  unfollowedTimer: null, // reads the figures of the queues the stream could not name
  queueStream: null,
  streamQueues: '',
  reconcile: new Map(), // name -> {timer, running, dirty}
  fallbackTimer: null,
  listTimer: null,
  list: null, // the open queue view: {queue, state, type, error, cursor, ids: Set}
  task: null, // the open task view: {id, stream, record, final}
  batch: null, // the open batch view: {id, stream, record, final, timer}
};
