/* event_store--1.1--1.2.sql: version 1.2 (see docs/api.md and CHANGELOG.md) */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION event_store UPDATE TO '1.2'" to load this file. \quit

-- Sections, one per change, in the order they were added.  Append a new
-- section at the end rather than editing another's.
