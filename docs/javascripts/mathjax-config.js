// MathJax 3 settings for the site. MathJax itself is served from the site
// (javascripts/mathjax/tex-svg.js, copied there by mkdocs_hooks.py), never from a CDN.
//
// Markdown pages: pymdownx.arithmatex marks every formula (\( \) and \[ \] inside class "arithmatex"),
// and nothing else is touched, so a "$" in prose or a shell session stays a dollar.
// Notebook pages (mkdocs-jupyter): formulas are written $ $ and $$ $$ in cells and rich displays,
// as Jupyter writes them; code and outputs in <pre> are skipped as usual.
// This file runs at the end of the page, so the page's content is already there to inspect.
(function () {
  const notebook = document.querySelector(".jupyter-wrapper") !== null;
  window.MathJax = {
    tex: {
      inlineMath: notebook ? [["$", "$"], ["\\(", "\\)"]] : [["\\(", "\\)"]],
      displayMath: notebook ? [["$$", "$$"], ["\\[", "\\]"]] : [["\\[", "\\]"]],
      processEscapes: true,
      processEnvironments: true,
    },
    options: notebook ? {} : { ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex" },
    svg: { fontCache: "global" },
  };
})();
