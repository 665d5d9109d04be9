-- Kvasir's script sandbox, run once in a fresh Lua 5.1 state (chunk name "=kvasir").
-- It receives the real globals' helpers from Rust and returns the functions Rust needs.
-- Globals and library tables are replaced by read-only proxies: reading a missing global
-- and writing anything raise Valkey's errors.
local norm, real_os_clock, load_constants = ...
local G = _G
local rawget, rawset, type, tostring, error, select = rawget, rawset, type, tostring, error, select
local orig_setmetatable, orig_getmetatable = setmetatable, getmetatable
local orig_pcall, orig_xpcall = pcall, xpcall
local orig_loadstring, orig_load, orig_setfenv, orig_getfenv = loadstring, load, setfenv, getfenv
local getinfo = debug.getinfo

local readonly = orig_setmetatable({}, { __mode = 'k' })
-- The view of each protected table, so that what a metatable shows is never a real table.
local view_of = orig_setmetatable({}, { __mode = 'k' })
local function ro_error()
  error('Attempt to modify a readonly table', 2)
end

-- A read-only view of `real`, and its metatable (whose __index may be changed later).
local function protect(real)
  local mt = { __index = real, __newindex = ro_error }
  local mt_view = orig_setmetatable({}, {
    __index = function(_, k)
      local v = rawget(mt, k)
      return view_of[v] or v
    end,
    __newindex = ro_error,
    __metatable = false,
  })
  mt.__metatable = mt_view
  local view = orig_setmetatable({}, mt)
  readonly[view] = real
  readonly[mt_view] = mt
  view_of[real] = view
  return view, mt
end

local function missing(k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 0)
end

-- While FUNCTION LOAD runs a library's code, the globals are only `server` (= `redis`) with
-- register_function, log and the constants (Valkey's library API); `load_env` is that
-- table then, nil otherwise. Functions the library defines keep the globals view as their
-- environment, so they see the usual globals when they are called.
-- Outside FUNCTION LOAD the view reads the real globals table itself (a global a script
-- reads is found without calling a function); only a missing one reaches G's own __index.
local load_env = nil
orig_setmetatable(G, { __index = function(_, k) missing(k) end })
local function load_index(_, k)
  local v = rawget(load_env, k)
  if v == nil then missing(k) end
  return v
end
local globals_view, globals_mt = protect(G)

local load_register, load_log = nil, nil
rawset(load_constants, 'register_function', function(...)
  if not load_register then
    error('server.register_function can only be called on FUNCTION LOAD command', 2)
  end
  return load_register(...)
end)
rawset(load_constants, 'log', function(...)
  if not load_log then error('server.log can only be called on FUNCTION LOAD command', 2) end
  return load_log(...)
end)
orig_setmetatable(load_constants, { __index = function(_, k) missing(k) end })
local load_server = protect(load_constants)
local library_api = { server = load_server, redis = load_server }

-- set_load_env(register, log) around a FUNCTION LOAD run; set_load_env() after it.
local function set_load_env(register, log)
  load_register, load_log = register, log
  if register then
    load_env = library_api
    rawset(globals_mt, '__index', load_index)
  else
    load_env = nil
    rawset(globals_mt, '__index', G)
  end
end

-- Iterating a read-only view iterates what it shows.
local orig_next = next
G.next = function(t, k)
  local real = readonly[t]
  if real then return orig_next(real, k) end
  return orig_next(t, k)
end
G.pairs = function(t)
  local real = readonly[t]
  if real then return orig_next, real, nil end
  return orig_next, t, nil
end

G.setmetatable = function(t, mt)
  if readonly[t] then error('Attempt to modify a readonly table', 2) end
  return orig_setmetatable(t, mt)
end
G.rawset = function(t, k, v)
  if readonly[t] then error('Attempt to modify a readonly table', 2) end
  return rawset(t, k, v)
end
G.setfenv = function(f, env)
  if f == 0 then error('Attempt to modify a readonly table', 2) end
  return orig_setfenv(f, env)
end
G.getfenv = function(...)
  local env = orig_getfenv(...)
  if env == G then return globals_view end
  return env
end
-- Chunks compiled by scripts see the sandbox, and binary chunks are refused.
G.loadstring = function(s, name)
  if type(s) == 'string' and s:byte(1) == 27 then
    return nil, 'attempt to load a binary chunk'
  end
  local f, e = orig_loadstring(s, name)
  if f then orig_setfenv(f, globals_view) end
  return f, e
end
G.load = function(fn, name)
  local f, e = orig_load(function()
    local piece = fn()
    if type(piece) == 'string' and piece:byte(1) == 27 then return nil end
    return piece
  end, name)
  if f then orig_setfenv(f, globals_view) end
  return f, e
end

-- Valkey's pcall: an error raised as a table {err=...} is returned as its message.
local function pcall_result(ok, ...)
  if ok then return ok, ... end
  local e = ...
  if type(e) == 'userdata' then e = norm(e) end
  if type(e) == 'table' and type(rawget(e, 'err')) == 'string' then e = rawget(e, 'err') end
  return false, e
end
G.pcall = function(...)
  return pcall_result(orig_pcall(...))
end

-- The error handler of every script run: an error becomes {err=, source=, line=} with
-- the position of the script code that raised it.
local function handler(err)
  if type(err) == 'userdata' then err = norm(err) end
  local level = 2
  local i = getinfo(level, 'nSl')
  while i and (i.what == 'C' or i.source == '=kvasir') do
    level = level + 1
    i = getinfo(level, 'nSl')
  end
  if type(err) ~= 'table' then
    err = { err = 'ERR ' .. tostring(err) }
  end
  if i then
    rawset(err, 'source', i.source)
    rawset(err, 'line', i.currentline)
  end
  return err
end

local function run_eval(f)
  return orig_xpcall(f, handler)
end
local function run_function(f, keys, args)
  return orig_xpcall(function() return f(keys, args) end, handler)
end

G.os = { clock = real_os_clock }
G.debug = nil
G.print = nil
G.dofile = nil
G.loadfile = nil
G.module = nil
G.require = nil
G.package = nil

local libs = { 'string', 'math', 'table', 'os', 'coroutine', 'cjson', 'bit', 'cmsgpack', 'struct', 'server' }
for _, name in ipairs(libs) do
  local t = rawget(G, name)
  if t ~= nil then
    rawset(G, name, protect(t))
  end
end
rawset(G, 'redis', rawget(G, 'server'))
rawset(G, '_G', globals_view)

return globals_view, run_eval, run_function, set_load_env
