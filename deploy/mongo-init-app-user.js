// Runs once, in mongosh, when the mongo image initialises an empty data volume (as the root user).
// The app gets its own user, limited to its own database.
/* global db */ // mongosh's current database
const user = process.env.MONGO_APP_USER;
const password = process.env.MONGO_APP_PASSWORD;
if (!user || !password) throw new Error('MONGO_APP_USER and MONGO_APP_PASSWORD must be set');
db.getSiblingDB('clicktrail').createUser({ user, pwd: password, roles: [{ role: 'readWrite', db: 'clicktrail' }] });
