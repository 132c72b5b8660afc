"""Write the example notebooks in notebooks/ from the cells below and execute them in place,
so they are committed with real outputs. Usage: python tools/make_notebooks.py"""
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell

QUICKSTART = [
    md("# cyberroute quickstart\n\nScore a few incident descriptions, look at the evidence behind each "
       "criterion, then change a rule in a copy of `rules/` and watch the result change."),
    code("from classifier import classify, classify_frame\n"
         "result = classify('Ransomware operators encrypted the billing systems of a US fuel pipeline operator; '\n"
         "                  'the company shut the pipeline for six days and fuel shortages spread across the East Coast.')\n"
         "result  # renders as HTML: evidence highlighted, one colour per criterion"),
    md("The same result as plain text, and as the JSON record the CLI prints with `--json`:"),
    code("print(result)"),
    code("import json\nprint(json.dumps(result.to_dict()['criteria']['cascading_effects'], indent=2))"),
    md("## A handful of incidents at once\n\n`classify_frame` takes a DataFrame and returns a copy with the "
       "result columns of `cyberroute batch` added."),
    code("import pandas as pd\n"
         "incidents = pd.DataFrame({'description': [\n"
         "    'A North Korean State-backed group stole 600 million dollars from a crypto bridge.',\n"
         "    'Spies linked to a foreign intelligence service stayed hidden in a ministry\\'s email for two years.',\n"
         "    'A wiper posing as ransomware, built by a military intelligence unit, wiped machines worldwide.',\n"
         "    'Teenagers took over celebrity social-media accounts to run a bitcoin scam.',\n"
         "    'A hospital\\'s systems are down after an attack; no group has claimed it.',\n"
         "]})\n"
         "routed = classify_frame(incidents, text_column='description')\n"
         "routed[['description', 'route', 'confidence', 'actor_type', 'intersection_reason', 'review']]"),
    md("## Change a rule, see the result change\n\nRules are TOML data. Copy `rules/`, edit the copy, and "
       "build a `Classifier` on it. Here the analyst decides that an unnamed gang's attack on a regional "
       "ambulance dispatcher counts as critical infrastructure (it is not in the sector lexicon yet)."),
    code("import shutil, tempfile\nfrom pathlib import Path\nfrom classifier import Classifier\n"
         "from classifier.ruleset import default_rules_dir\n\n"
         "text = ('A gang encrypted the consoles of the county rescue coordinators; '\n"
         "        'calls were rerouted to five neighbouring counties for two days.')\n"
         "before = Classifier().classify(text)\n"
         "print('before:', before.criteria['critical_infrastructure'].value, before.route, before.intersection_reason)\n\n"
         "# Copy the rules, add one term to the emergency-services sector, and classify again.\n"
         "copy = Path(tempfile.mkdtemp()) / 'rules'\n"
         "shutil.copytree(default_rules_dir(), copy, ignore=shutil.ignore_patterns('__*'))\n"
         "sectors = (copy / 'sectors.toml').read_text()\n"
         "anchor = 'id = \"emergency-services\"'\n"
         "head, tail = sectors.split(anchor)\n"
         "tail = tail.replace('terms = [', 'terms = [\"rescue coordinators\", ', 1)\n"
         "(copy / 'sectors.toml').write_text(head + anchor + tail)\n"
         "after = Classifier(rules=copy).classify(text)\n"
         "print('after: ', after.criteria['critical_infrastructure'].value, after.route, after.intersection_reason)"),
    code("after"),
]


def build(name, cells):
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    path = ROOT / "notebooks" / name
    nbformat.write(nb, path)
    print("wrote", path)


if __name__ == "__main__":
    build("01-quickstart.ipynb", QUICKSTART)
