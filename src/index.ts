/**
 * The package root re-exports each module as a namespace (`import { asyncio } from 'weft'`);
 * importing the module itself (`weft/asyncio`) is the usual way and loads only that module.
 */
export * as asyncio from './asyncio/index.js';
