-- resc language server for Neovim, with no plugin: diagnostics, hover (K), go to
-- definition (gd), references (gr), rename (<leader>rn), code actions (<leader>ca),
-- formatting (<leader>f), completion (<C-x><C-o>) and inlay hints (the output shape
-- at the end of each layer line).
--
-- Use: `nvim -u editors/neovim/resc-lsp.lua model.resnet`, or `dofile()` it from your
-- init.lua. Set RESC to the `resc` binary if it is not on PATH. Works on Neovim 0.7
-- and later: 0.10+ draws inlay hints itself; older versions get them drawn here as
-- end-of-line virtual text.

vim.cmd([[autocmd BufRead,BufNewFile *.resnet setfiletype resnet]])
vim.cmd([[autocmd FileType resnet setlocal commentstring=#\ %s shiftwidth=4 expandtab]])

local resc = os.getenv('RESC') or 'resc'
local hint_ns = vim.api.nvim_create_namespace('resc_inlay_hints')

-- Inlay hints for Neovim versions without `vim.lsp.inlay_hint`.
local function draw_inlay_hints(bufnr)
  local params = {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    range = {
      start = { line = 0, character = 0 },
      ['end'] = { line = vim.api.nvim_buf_line_count(bufnr), character = 0 },
    },
  }
  vim.lsp.buf_request(bufnr, 'textDocument/inlayHint', params, function(err, result)
    if err or not result or not vim.api.nvim_buf_is_valid(bufnr) then
      return
    end
    vim.api.nvim_buf_clear_namespace(bufnr, hint_ns, 0, -1)
    for _, hint in ipairs(result) do
      local label = type(hint.label) == 'string' and hint.label or ''
      pcall(vim.api.nvim_buf_set_extmark, bufnr, hint_ns, hint.position.line, 0, {
        virt_text = { { ' ' .. label, 'Comment' } },
        virt_text_pos = 'eol',
      })
    end
  end)
end

local function on_attach(client, bufnr)
  local map = function(keys, fn)
    vim.api.nvim_buf_set_keymap(bufnr, 'n', keys, '', { noremap = true, callback = fn })
  end
  map('K', vim.lsp.buf.hover)
  map('gd', vim.lsp.buf.definition)
  map('gr', vim.lsp.buf.references)
  map('<leader>rn', vim.lsp.buf.rename)
  map('<leader>ca', vim.lsp.buf.code_action)
  map('<leader>f', function()
    if vim.lsp.buf.format then vim.lsp.buf.format() else vim.lsp.buf.formatting() end
  end)
  vim.api.nvim_buf_set_option(bufnr, 'omnifunc', 'v:lua.vim.lsp.omnifunc')
  if vim.lsp.inlay_hint and vim.lsp.inlay_hint.enable then
    vim.lsp.inlay_hint.enable(true, { bufnr = bufnr })
  else
    draw_inlay_hints(bufnr)
    vim.api.nvim_create_autocmd({ 'InsertLeave', 'TextChanged', 'BufWritePost' }, {
      buffer = bufnr,
      callback = function()
        -- Let the server recompile before asking.
        vim.defer_fn(function() draw_inlay_hints(bufnr) end, 50)
      end,
    })
  end
end

local config = {
  name = 'resc',
  cmd = { resc, 'lsp' },
  root_dir = vim.fn.getcwd(),
  on_attach = on_attach,
}

vim.api.nvim_create_autocmd('FileType', {
  pattern = 'resnet',
  callback = function(args)
    if vim.lsp.start then
      vim.lsp.start(config)
    else
      -- Neovim 0.7: one client for every buffer.
      _G.resc_client = _G.resc_client or vim.lsp.start_client(config)
      vim.lsp.buf_attach_client(args.buf, _G.resc_client)
    end
  end,
})

vim.diagnostic.config({ virtual_text = true, signs = true, underline = true })
