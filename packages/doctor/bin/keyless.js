#!/usr/bin/env node
// A committed entry point, so package managers can link the command before the TypeScript is built.
import '../dist/cli/keyless.js';
