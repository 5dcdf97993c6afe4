// Drives a Wix-compatible API (the inboxbridge sandbox) with Wix's official JavaScript SDK.
//
// Usage:
//   node drive_sandbox.mjs --base-url http://127.0.0.1:PORT --site-id ID --api-key KEY \
//       [--app-id ID --app-secret SECRET --instance-id ID]
//
// Runs the inboxbridge flow (create contact, query it by email, get or create its conversation, send a BASIC and a
// MINIMAL message, list messages) once per auth mode: API key always, OAuth app instance when app credentials are
// given. Prints one JSON object on stdout. Any failure exits non-zero with the error and the requests sent so far.

import { parseArgs } from "node:util";
import { randomUUID } from "node:crypto";
import { ApiKeyStrategy, AppStrategy, createClient } from "@wix/sdk";
import { contacts } from "@wix/crm";
import { conversations, messages } from "@wix/inbox";

const WIX_ORIGIN = "https://www.wixapis.com";
const ICON_URL = "https://static.example.com/icons/sms.png";
const ACTIVITY_URL = "https://crm.example.com/tickets/4711";

const { values: args } = parseArgs({
  options: {
    "base-url": { type: "string" },
    "site-id": { type: "string" },
    "api-key": { type: "string" },
    "app-id": { type: "string" },
    "app-secret": { type: "string" },
    "instance-id": { type: "string" },
  },
});
for (const required of ["base-url", "site-id", "api-key"]) {
  if (!args[required]) {
    process.stderr.write(`missing --${required}\n`);
    process.exit(2);
  }
}
const baseUrl = args["base-url"].replace(/\/+$/, "");

// Every request the SDK makes, with the answer's status, so a failure shows exactly what was sent.
const wire = [];

const realFetch = globalThis.fetch;

// The SDK builds every URL as https://www.wixapis.com/...; the sandbox serves the same paths over plain HTTP.
// Anything aimed elsewhere is refused so that a test can never reach the real Wix.
async function sandboxFetch(input, init = {}) {
  const request = new Request(input, init);
  const original = new URL(request.url);
  if (original.origin !== WIX_ORIGIN) {
    throw new Error(`refusing to send a request outside the sandbox: ${request.method} ${request.url}`);
  }
  const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.text();
  const target = `${baseUrl}${original.pathname}${original.search}`;
  const entry = {
    method: request.method,
    path: original.pathname,
    query: Object.fromEntries(original.searchParams),
    body: body ? JSON.parse(body) : null,
    status: null,
  };
  wire.push(entry);
  const response = await realFetch(target, { method: request.method, headers: request.headers, body });
  entry.status = response.status;
  entry.requestId = response.headers.get("x-wix-request-id");
  if (!response.ok) {
    entry.answer = await response.clone().text();
  }
  return response;
}

// createClient's `fetch` option covers API calls; AppStrategy fetches its token with the global fetch.
globalThis.fetch = sandboxFetch;

function decodeDotR(value) {
  return JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
}

function textsOf(message) {
  const content = message.content ?? {};
  if (content.basic) {
    return content.basic.items.map((item) => item.text);
  }
  if (content.minimal) {
    return [content.minimal.text];
  }
  return [];
}

async function runFlow(mode, auth) {
  const client = createClient({ auth, modules: { contacts, conversations, messages }, fetch: sandboxFetch });
  const tag = `${mode}-${randomUUID()}`;
  const email = `sdk-${tag}@example.com`;
  const firstRequest = wire.length;

  const created = await client.contacts.createContact(
    { name: { first: "Ada", last: "Lovelace" }, emails: { items: [{ tag: "MAIN", email }] } },
    { allowDuplicates: false },
  );
  const contactId = created.contact._id;

  const byEq = await client.contacts.queryContacts().eq("info.emails.email", email).find();
  const byHasSome = await client.contacts.queryContacts().hasSome("info.emails.email", [email]).find();
  const byPrimary = await client.contacts.queryContacts().eq("primaryInfo.email", email).limit(5).find();
  const byTypedQuery = await client.contacts.queryContacts({
    filter: { "info.emails.email": { $eq: email } },
    paging: { limit: 100 },
  });
  const fetched = await client.contacts.getContact(contactId);

  const first = await client.conversations.getOrCreateConversation({ contactId });
  const again = await client.conversations.getOrCreateConversation({ contactId });
  const conversationId = first.conversation._id;

  const basicText = `basic ${tag}`;
  const basic = await client.messages.sendMessage(
    conversationId,
    {
      direction: "PARTICIPANT_TO_BUSINESS",
      visibility: "BUSINESS",
      content: { basic: { items: [{ text: basicText }] } },
      badges: [{ text: "SMS", iconUrl: ICON_URL, badgeVisibility: "BUSINESS" }],
    },
    { sendNotifications: false },
  );

  const minimalText = `minimal ${tag}`;
  const minimal = await client.messages.sendMessage(
    conversationId,
    {
      direction: "PARTICIPANT_TO_BUSINESS",
      visibility: "BUSINESS",
      content: { minimal: { text: minimalText, iconUrl: ICON_URL, url: ACTIVITY_URL } },
      silent: true,
    },
    { sendNotifications: false, sendAs: "PARTICIPANT" },
  );

  const listed = await client.messages.listMessages(conversationId, "BUSINESS");
  const firstPage = await client.messages.listMessages(conversationId, "BUSINESS", {
    paging: { limit: 1 },
    sorting: { fieldName: "sequence", order: "DESC" },
  });
  const nextCursor = firstPage.pagingMetadata?.cursors?.next ?? null;
  const secondPage = nextCursor
    ? await client.messages.listMessages(conversationId, "BUSINESS", {
        paging: { limit: 1, cursor: nextCursor },
        sorting: { fieldName: "sequence", order: "DESC" },
      })
    : null;

  const sent = wire.slice(firstRequest);
  return {
    email,
    contactId,
    createdEmails: created.contact.info.emails.items.map((item) => item.email),
    queries: {
      eqInfoEmails: byEq.items.map((c) => c._id),
      hasSomeInfoEmails: byHasSome.items.map((c) => c._id),
      eqPrimaryEmail: byPrimary.items.map((c) => c._id),
      typedEqInfoEmails: byTypedQuery.contacts.map((c) => c._id),
    },
    fetchedContactId: fetched._id,
    conversationId,
    newConversation: first.newConversation,
    againConversationId: again.conversation._id,
    againNewConversation: again.newConversation,
    basic: {
      id: basic.message._id,
      sequence: basic.message.sequence,
      text: basicText,
      direction: basic.message.direction,
      visibility: basic.message.visibility,
    },
    minimal: {
      id: minimal.message._id,
      sequence: minimal.message.sequence,
      text: minimalText,
      iconUrl: ICON_URL,
      url: ACTIVITY_URL,
      direction: minimal.message.direction,
      visibility: minimal.message.visibility,
    },
    listed: {
      ids: listed.messages.map((m) => m._id),
      texts: listed.messages.map(textsOf),
    },
    firstPage: { ids: firstPage.messages.map((m) => m._id), nextCursor },
    secondPage: secondPage ? { ids: secondPage.messages.map((m) => m._id) } : null,
    listRequests: sent
      .filter((r) => r.method === "GET" && r.path === "/inbox/v2/messages")
      .map((r) => ({ query: r.query, decoded: r.query[".r"] ? decodeDotR(r.query[".r"]) : null })),
    requests: sent,
  };
}

async function main() {
  const result = {
    apiKey: await runFlow("apikey", ApiKeyStrategy({ apiKey: args["api-key"], siteId: args["site-id"] })),
    oauth: null,
  };
  if (args["app-id"] && args["app-secret"] && args["instance-id"]) {
    const auth = AppStrategy({
      appId: args["app-id"],
      appSecret: args["app-secret"],
      instanceId: args["instance-id"],
    });
    result.oauth = await runFlow("oauth", auth);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error) => {
  const report = {
    error: String(error?.message ?? error),
    details: error?.details ?? null,
    requestId: error?.requestId ?? null,
    requests: wire,
  };
  process.stderr.write(`${JSON.stringify(report, null, 2)}\n${error?.stack ?? ""}\n`);
  process.exit(1);
});
