-- SPDX-License-Identifier: MIT
-- tunlat.lua: a Wireshark post-dissector that turns the comment tunlat writes on each
-- packet of a --pcapng file ("tunlat dir=tx qdisc=26.4us ring=5.70ms copy=535ns
-- total=5.83ms reader=openvpn/13652 cpu=1") into fields Wireshark can filter and plot:
--
--   tunlat.dir        "tx" (host -> VPN) or "rx" (VPN -> host)
--   tunlat.<span>     each span in seconds: qdisc ring copy total (TX); backlog stack
--                     socket total (RX)
--   tunlat.reader     the VPN's process that read a TX packet, comm/pid
--   tunlat.writer     the VPN's process that wrote an RX packet, comm/pid
--   tunlat.receiver   the application that read an RX packet, comm/pid
--   tunlat.cpu        the CPU of that read or write
--   tunlat.drop       REASON@location of a dropped packet
--
-- Wireshark cannot filter on a comment's text; with this, `tunlat.ring > 0.005` keeps
-- the packets that waited more than 5 ms for the VPN to read them:
--   tshark -X lua_script:tools/wireshark/tunlat.lua -r trace.pcapng -Y 'tunlat.ring > 0.005'
-- Install for Wireshark: copy it into ~/.local/lib/wireshark/plugins/ (docs/pcapng.md).

local tunlat = Proto("tunlat", "tunlat stage times")

local spans = { "qdisc", "ring", "copy", "backlog", "stack", "socket", "total" }
local fields = {
  dir = ProtoField.string("tunlat.dir", "Direction"),
  reader = ProtoField.string("tunlat.reader", "VPN reader"),
  writer = ProtoField.string("tunlat.writer", "VPN writer"),
  receiver = ProtoField.string("tunlat.receiver", "Receiving application"),
  cpu = ProtoField.uint32("tunlat.cpu", "CPU of the VPN's read or write"),
  drop = ProtoField.string("tunlat.drop", "Dropped: reason@location"),
}
for _, s in ipairs(spans) do
  fields[s] = ProtoField.double("tunlat." .. s, s .. " (s)")
end
local list = {}
for _, f in pairs(fields) do list[#list + 1] = f end
tunlat.fields = list

-- The packet comment's field: frame.comment since Wireshark 3.6 (pkt_comment before).
local ok, comment_field = pcall(Field.new, "frame.comment")
if not ok then comment_field = Field.new("pkt_comment") end

local units = { ns = 1e-9, us = 1e-6, ms = 1e-3, s = 1 }

-- "5.70ms" -> 0.0057; nil if it is not a number with a unit.
local function seconds(v)
  local num, unit = string.match(v, "^([%d%.]+)(%a+)$")
  if not num or not units[unit] then return nil end
  return tonumber(num) * units[unit]
end

function tunlat.dissector(_, pinfo, tree)
  for _, c in ipairs({ comment_field() }) do
    local text = tostring(c.value)
    if string.sub(text, 1, 7) == "tunlat " then
      -- The comment is not in the packet's bytes: the fields have no range.
      local sub = tree:add(tunlat)
      sub:set_text("tunlat: " .. string.sub(text, 8))
      for key, value in string.gmatch(text, "(%w+)=(%S+)") do
        local f = fields[key]
        if f then
          if key == "cpu" then
            sub:add(f, tonumber(value))
          elseif key == "dir" or key == "reader" or key == "writer" or key == "receiver" or key == "drop" then
            sub:add(f, value)
          else
            local s = seconds(value)
            if s then sub:add(f, s) end
          end
        end
      end
    end
  end
end

register_postdissector(tunlat)
