"""Write the example notebooks in notebooks/ from the cells below and execute them in place,
so they are committed with real outputs. Usage: python tools/make_notebooks.py"""
from pathlib import Path

import nbformat
import pandas as pd
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
# The training corpus's route shares, as the text below states them.
CORPUS_SHARES = pd.read_csv(ROOT / "datasets" / "incidents.csv", usecols=["route"])["route"].value_counts(normalize=True)


def _pct(route: str) -> str:
    return f"{round(CORPUS_SHARES[route] * 100)} %"


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
    md("The evidence behind them, one row per span, labelled by the row of `incidents` it came from "
       "(`classify_many` gives the `Result` objects, `evidence_frame` their spans):"),
    code("from classifier import Classifier, evidence_frame\n"
         "results = Classifier().classify_many(incidents['description'])\n"
         "evidence = evidence_frame(results, incidents.index)\n"
         "evidence[evidence.criterion.isin(['actor_type', 'state_sponsorship'])]"),
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


CORPUS = [
    md("# The shipped corpus and model\n\nWhat `datasets/incidents.csv` holds, and how a model trained on "
       "part of it does on incidents it never saw (a held-out 25 % of incident groups, so paraphrases of one "
       "incident never sit on both sides)."),
    code("import numpy as np, pandas as pd\n"
         "from pathlib import Path\n"
         "from classifier import Classifier\n"
         "from classifier import plots, training\n"
         "from classifier.api import RuleLayer\n\n"
         "corpus = pd.read_csv(Path('..') / 'datasets' / 'incidents.csv', dtype=str, keep_default_na=False)\n"
         "print(len(corpus), 'descriptions in', corpus.group_id.nunique(), 'incident groups')\n"
         "plots.route_distribution(corpus);"),
    md("Which labelled criteria occur together (the diagonal is how often each occurs):"),
    code("plots.criteria_cooccurrence(corpus);"),
    md("## A held-out split\n\nTrain the text model and combiner on 75 % of the incident groups, exactly as "
       "`cyberroute evaluate --holdout 0.25` does."),
    code("test = training.holdout_mask(corpus.group_id, 0.25)\n"
         "train, held_out = corpus[~test], corpus[test]\n"
         "layer = RuleLayer()\n"
         "*_, rows = layer.rule_rows(train.text.tolist())\n"
         "model = training.fit(train.text.tolist(), train.route.to_numpy(), train.group_id.to_numpy(), rows,\n"
         "                     criteria=training.criterion_targets(train))\n"
         "clf = Classifier(rules=layer.rules, model=model)\n"
         "results = clf.classify_many(held_out.text.tolist())\n"
         "predicted = np.array([r.route for r in results])\n"
         "confidence = np.array([r.confidence for r in results])\n"
         "print(f'held out: {len(held_out)} rows, accuracy {np.mean(predicted == held_out.route.to_numpy()):.3f}')"),
    code("plots.confusion_matrix(held_out.route, predicted);"),
    md("## What the text model reads\n\nBeside the routes, the text model has three criterion heads (State "
       "involvement, a financial motive, cascading effects), trained on the corpus's criteria columns. On the "
       "held-out rows, how often each head (at 0.5) and the rule layer get the yes/no of the label right:"),
    code("from classifier.evaluation import criterion_head_accuracy\n"
         "labels = training.criterion_targets(held_out, drop_constant=False)\n"
         "table = pd.DataFrame(criterion_head_accuracy(labels, results, model.text_model.heads_)).T\n"
         "table['labelled yes'] = [int(labels[name].sum()) for name in table.index]\n"
         "table"),
    md("Calibration: when the classifier says 0.8, is it right about 80 % of the time? (The most probable "
       "route against the label: a result held back as undetermined is counted with its most probable route.)"),
    code("best = np.array([max(r.probabilities, key=r.probabilities.get) for r in results])\n"
         "plots.calibration_curve(best == held_out.route.to_numpy(), confidence);"),
    md("## The ten most confident errors\n\nThe evidence the rules found is highlighted; the label is the corpus's."),
    code("from IPython.display import HTML, display\n"
         "wrong = [i for i in np.argsort(-confidence) if predicted[i] != held_out.route.iloc[i] and predicted[i] != 'undetermined'][:10]\n"
         "for i in wrong:\n"
         "    display(HTML(f'<b>label: {held_out.route.iloc[i]}</b>'))\n"
         "    display(results[i])"),
]

BATCH = [
    md("# Routing a file of incidents\n\nRoute a CSV (by default the sample shipped in `datasets/`), then look at "
       "trends by year and sector and at the cases flagged for review. Set `PATH` and `TEXT_COLUMN` to use your own file."),
    code("PATH = '../datasets/sample.csv'   # parameter: any CSV with a text column\n"
         "TEXT_COLUMN = 'text'\n"
         "DATE_COLUMN = 'date'              # optional"),
    code("import pandas as pd\n"
         "from classifier import classify_frame, plots\n\n"
         "incidents = pd.read_csv(PATH, dtype=str, keep_default_na=False)\n"
         "routed = classify_frame(incidents, text_column=TEXT_COLUMN)\n"
         "plots.style_routed(routed.head(12))"),
    code("plots.route_distribution(routed);"),
    code("if DATE_COLUMN in routed.columns:\n"
         "    plots.route_share_over_time(routed, date_column=DATE_COLUMN)"),
    code("plots.route_share_by_sector(routed);"),
    md("## Flagged for review\n\nLow confidence, rules and model in conflict, rules silent, or a route that rests "
       "on a State the rules did not find; the explanation says which:"),
    code("review = routed[routed.review.astype(str).str.lower() == 'true']\n"
         "review[[TEXT_COLUMN, 'route', 'confidence', 'explanation']]"),
    md("## A feed unlike the training corpus\n\nThe model learnt its probabilities on a corpus that is "
       f"{_pct('cybercrime')} cybercrime, {_pct('international-security')} international "
       f"security and {_pct('intersection')} intersection. A tracker of State operations or a "
       "police feed has another mix. `Classifier.estimate_priors` reads the mix from the texts alone (no labels), and a "
       "`Classifier` built with those shares as `priors` re-weights every result to them "
       "(`cyberroute priors FILE` and `--priors` on the command line). On a file of a few dozen rows, such as "
       "the sample, the estimate is not worth using, and the warning says so: it is shown here for the API."),
    code("from classifier.api import Classifier\n\n"
         "default = Classifier()\n"
         "priors = default.estimate_priors(incidents[TEXT_COLUMN])\n"
         "priors"),
    code("adapted = Classifier(priors=priors).classify_frame(incidents, text_column=TEXT_COLUMN)\n"
         "pd.crosstab(routed.route, adapted.route, rownames=['corpus shares'], colnames=['feed shares'])"),
]


def build(name, cells):
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    path = ROOT / "notebooks" / name
    nbformat.write(nb, path)
    print("wrote", path)


if __name__ == "__main__":
    build("01-quickstart.ipynb", QUICKSTART)
    build("02-corpus-analysis.ipynb", CORPUS)
    build("03-batch-analysis.ipynb", BATCH)
