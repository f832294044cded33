// pkg/registry: the OCI distribution (registry) client.
export {
  RegistryClient, RegistryNotFoundError, repoOf, isNonDistributable,
  type Repo, type RegistryClientOptions, type FetchedManifest,
} from './client.js'
export { parsePlatform, formatPlatform, selectPlatform, effectiveVariant, isAttestation } from './platform.js'
export { parseDocument, maxDocumentBytes, manifestAccept, type ParsedDocument } from './document.js'
export { parseWwwAuthenticate, pickChallenge, type Challenge } from './challenge.js'
export {
  defaultDockerConfigPath, loadDockerConfig, parseDockerConfig, lookupCredentials, normalizeConfigKey,
  type Credentials, type DockerConfig,
} from './credentials.js'
export { parseJson, JsonError, type JsonValue } from './json.js'
export { isInsecureHost, apiHost } from './transport.js'
