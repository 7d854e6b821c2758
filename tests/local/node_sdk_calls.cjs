// Drives the local Connect server with the unmodified official TypeScript SDK.
// Input: PIPEDREAM_* env vars, USER_ID (an external user with 5 github accounts and one
// stripe account already connected, on a server of its own: deleteByApp is project-wide), TAG (a prefix of that user id for users.list q).
// Output: one JSON object on stdout with what came back; the Python test asserts on it.
const { PipedreamClient } = require("@pipedream/sdk");

async function main() {
  const client = new PipedreamClient({
    baseUrl: process.env.PIPEDREAM_BASE_URL,
    projectId: process.env.PIPEDREAM_PROJECT_ID,
    projectEnvironment: "development",
    clientId: process.env.PIPEDREAM_CLIENT_ID,
    clientSecret: process.env.PIPEDREAM_CLIENT_SECRET,
    maxRetries: 0,
    timeoutInSeconds: 10,
  });
  const user = process.env.USER_ID;
  const out = {};

  const token = await client.tokens.create({ externalUserId: user });
  out.token = token.token;
  out.tokenExpiresAt = token.expiresAt instanceof Date ? token.expiresAt.toISOString() : token.expiresAt;
  out.connectLinkUrl = token.connectLinkUrl;
  const valid = await client.tokens.validate(token.token, { appId: "github" });
  out.validateSuccess = valid.success;

  const info = await client.projects.retrieveInfo();
  out.projectApps = info.apps.map((a) => a.nameSlug);

  out.pagedIds = [];
  let pages = 0;
  let page = await client.accounts.list({ externalUserId: user, limit: 2 });
  pages += 1;
  out.pagedIds.push(...page.data.map((a) => a.id));
  while (page.hasNextPage()) {
    page = await page.getNextPage();
    pages += 1;
    out.pagedIds.push(...page.data.map((a) => a.id));
  }
  out.pages = pages;

  const first = out.pagedIds[0];
  const account = await client.accounts.retrieve(first, { includeCredentials: true });
  out.retrieved = {
    id: account.id,
    externalId: account.externalId,
    appSlug: account.app.nameSlug,
    accessToken: account.credentials.oauthAccessToken,
  };

  await client.accounts.delete(first);
  await client.accounts.deleteByApp("github");
  const left = [];
  for await (const a of await client.accounts.list({ externalUserId: user })) left.push(a.app.nameSlug);
  out.leftAfterDeletes = left;

  const users = [];
  for await (const u of await client.users.list({ q: process.env.TAG })) users.push(u.externalId);
  out.users = users;
  await client.users.deleteExternalUser(user);
  const after = [];
  for await (const u of await client.users.list({ q: process.env.TAG })) after.push(u.externalId);
  out.usersAfterDelete = after;

  const apps = [];
  for await (const a of await client.apps.list({ limit: 5 })) apps.push(a.nameSlug);
  out.apps = apps;
  const slack = await client.apps.retrieve("slack");
  out.slack = { name: slack.data.name, authType: slack.data.authType };

  try {
    await client.accounts.retrieve("apn_doesnotexist");
    out.missing = "no error";
  } catch (err) {
    out.missing = err.statusCode;
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + "\n");
  if (err && err.body) process.stderr.write(JSON.stringify(err.body) + "\n");
  process.exit(1);
});
