// A KV namespace for the Worker under plain workerd (scripts/test-cloudflare.sh), where no
// Workers KV exists: workerd turns the Worker's env.HEADS.get/put into HTTP requests to the
// service bound as the namespace, GET and PUT /<url-encoded key>?urlencoded=true, and this
// service answers them from memory (404 for a missing key), for as long as workerd runs.
const store = new Map();

export default {
  async fetch(req) {
    const url = new URL(req.url);
    const key = decodeURIComponent(url.pathname.slice(1));
    switch (req.method) {
      case "GET": {
        const v = store.get(key);
        return v === undefined ? new Response(null, { status: 404 }) : new Response(v);
      }
      case "PUT":
        store.set(key, await req.arrayBuffer());
        return new Response(null);
      case "DELETE":
        store.delete(key);
        return new Response(null);
    }
    return new Response(`KV: method ${req.method} is not supported`, { status: 405 });
  },
};
