// The client's name and version, as it sends them in User-Agent. A constant,
// not an import of package.json: importing JSON needs import attributes that
// not every runtime and bundler takes (browsers, Workers). A unit test
// (tests/client/transport.test.js) keeps it equal to package.json's version.

export const CLIENT_NAME = 'own3d-kv-js';
export const CLIENT_VERSION = '0.1.0';
export const USER_AGENT = `${CLIENT_NAME}/${CLIENT_VERSION}`;
