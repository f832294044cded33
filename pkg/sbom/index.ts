// pkg/sbom: the software bill of materials written beside every build
// (NAME-sbom.spdx.json, SPDX 2.3 JSON): the OCI images that went into the
// build and the deb/apk packages installed in each, read from their package
// databases.
export type { SbomPackage, SbomImage, SbomInput } from './types.js'
export { MAX_DATABASE_BYTES, MAX_PACKAGES, comparePackages, sortAndDedupe } from './types.js'
export { generateSbom } from './spdx.js'
export { parseDpkgStatus } from './dpkg.js'
export type { DpkgStatusOptions } from './dpkg.js'
export { parseApkInstalled } from './apk.js'
export type { ApkInstalledOptions } from './apk.js'
export { packageDatabasePaths, packagesFromDatabases, isPackageDatabasePath } from './databases.js'
export { formatPurl, packagePurl, imagePurl } from './purl.js'
