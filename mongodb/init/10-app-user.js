// Run once by the official mongo image on its first start (empty data volume), connected as the
// root user: creates the experiments manager's user `app`, readWrite on the labdcs database only.
// Its password is the Docker secret mongodb_app (made by `labdcs init`), read from the file here so
// it never appears on a command line or in the compose file.
const fs = require("fs");
const secret = "/run/secrets/mongodb_app";
const password = fs.readFileSync(secret, "utf8").replace(/[\r\n]+$/, "");
if (password.length === 0) {
  throw new Error(`mongodb/init: ${secret} is empty: run labdcs init`);
}
const admin = db.getSiblingDB("admin");
if (admin.getUser("app") === null) {
  admin.createUser({ user: "app", pwd: password, roles: [{ role: "readWrite", db: "labdcs" }] });
  print("mongodb/init: created user app (readWrite on labdcs)");
}
