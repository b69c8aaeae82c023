// The server types and routes of openapi/openapi.yaml (symlinked beside this file), generated at
// build time by swift-openapi-generator's plugin. Nothing here is written by hand: change the
// spec, and the generated `APIProtocol`, `Operations` and `Components` follow.
